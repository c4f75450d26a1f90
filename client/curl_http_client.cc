#include <arpa/inet.h>
#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string_view>

#include "client/http_client.h"
#include "common/text.h"

namespace glint::client {
namespace {

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlHandle = std::unique_ptr<CURL, CurlFree>;
using HeaderSlist = std::unique_ptr<curl_slist, SlistFree>;

constexpr size_t kSmallBodyLimit = 64 << 20;
// What a header line's name and value are trimmed of (the line ends in CRLF).
constexpr std::string_view kHeaderBlanks = " \t\r\n";

// What one transfer's callbacks share. Errors raised inside a callback are kept here and
// win over curl's own code (which only says "aborted by callback").
struct Exchange {
  ClientResponse* out = nullptr;
  const std::function<Status(const char*, size_t)>* sink = nullptr;
  const std::function<Status(const ClientResponse&)>* on_head = nullptr;
  const std::function<Result<size_t>(char*, size_t)>* source = nullptr;
  uint64_t to_send = 0, sent = 0;
  Status error;
  bool head_complete = false;
  // Stall detection: the last time a byte moved either way, and how long that may last.
  std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
  curl_off_t last_down = 0, last_up = 0;
  std::chrono::milliseconds stall_limit{30000};
};

// curl calls this at least once a second during a transfer. Its own low-speed check
// averages over several seconds; this one fails a transfer exactly `stall_limit` after
// the last byte moved.
int OnProgress(void* user, curl_off_t, curl_off_t down, curl_off_t, curl_off_t up) {
  auto* ex = static_cast<Exchange*>(user);
  auto now = std::chrono::steady_clock::now();
  if (down != ex->last_down || up != ex->last_up) {
    ex->last_down = down;
    ex->last_up = up;
    ex->last_progress = now;
    return 0;
  }
  if (now - ex->last_progress < ex->stall_limit) return 0;
  ex->error = Status::Unavailable("no answer for " + std::to_string(ex->stall_limit.count() / 1000.0).substr(0, 4) +
                                  " s: the peer accepted the connection but sends nothing");
  return 1;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  size_t len = size * count;
  std::string_view line(data, len);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a 1xx): start over
    ex->out->headers.clear();
    ex->head_complete = false;
    size_t sp = line.find(' ');
    ex->out->status = sp == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
    return len;
  }
  if (TrimView(line, kHeaderBlanks).empty()) {
    if (ex->out->status >= 200) {
      ex->head_complete = true;
      if (ex->on_head && *ex->on_head) {
        ex->error = (*ex->on_head)(*ex->out);
        if (!ex->error.ok()) return 0;
      }
    }
    return len;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    ex->out->headers.emplace_back(AsciiLower(TrimView(line.substr(0, colon), kHeaderBlanks)),
                                  std::string(TrimView(line.substr(colon + 1), kHeaderBlanks)));
  }
  return len;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  size_t len = size * count;
  bool success = ex->out->status >= 200 && ex->out->status < 300;
  if (ex->sink && success) {
    ex->error = (*ex->sink)(data, len);
    return ex->error.ok() ? len : 0;
  }
  if (ex->out->body.size() + len > kSmallBodyLimit) {
    ex->error = Status::TooLarge("response body over " + std::to_string(kSmallBodyLimit) + " bytes");
    return 0;
  }
  ex->out->body.append(data, len);
  return len;
}

size_t OnRead(char* buf, size_t size, size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  size_t max = static_cast<size_t>(std::min<uint64_t>(size * count, ex->to_send - ex->sent));
  if (max == 0) return 0;
  auto n = (*ex->source)(buf, max);
  if (!n.ok()) {
    ex->error = n.status();
    return CURL_READFUNC_ABORT;
  }
  if (*n == 0) {
    ex->error = Status::IOError("input ended after " + std::to_string(ex->sent) + " of " +
                                std::to_string(ex->to_send) + " bytes");
    return CURL_READFUNC_ABORT;
  }
  ex->sent += *n;
  return *n;
}

// Refuses to open a socket to any address but the pinned one (CURLOPT_OPENSOCKETFUNCTION):
// whatever curl's own reading of the URL, it connects only where the filter said.
curl_socket_t OpenPinnedSocket(void* user, curlsocktype, curl_sockaddr* address) {
  const auto* pin = static_cast<const std::string*>(user);
  char text[INET6_ADDRSTRLEN] = {0};
  if (address->family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&address->addr)->sin_addr, text, sizeof text);
  } else if (address->family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&address->addr)->sin6_addr, text, sizeof text);
  }
  if (*pin != text) return CURL_SOCKET_BAD;
  return ::socket(address->family, address->socktype, address->protocol);
}

class CurlClient final : public HttpClient {
 public:
  CurlClient(std::string base, ClientOptions options, CurlHandle handle)
      : base_(std::move(base)), options_(std::move(options)), handle_(std::move(handle)) {}

  Result<ClientResponse> Request(const std::string& method, const std::string& target,
                                 const HeaderList& headers, const std::string& body) override {
    ClientResponse out;
    Exchange ex;
    ex.out = &out;
    CURL* c = Prepare(method, target, ex);
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    GLINT_RETURN_IF_ERROR(Perform(headers, ex));
    return out;
  }

  Result<ClientResponse> Upload(const std::string& method, const std::string& target,
                                const HeaderList& headers, uint64_t length,
                                const std::function<Result<size_t>(char*, size_t)>& source) override {
    ClientResponse out;
    Exchange ex;
    ex.out = &out;
    ex.source = &source;
    ex.to_send = length;
    CURL* c = Prepare(method, target, ex);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, &OnRead);
    curl_easy_setopt(c, CURLOPT_READDATA, &ex);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(length));
    Status s = Perform(headers, ex);
    // The server may answer early (413, 409...) and stop reading: that answer is the result.
    if (!s.ok() && ex.error.ok() && out.status >= 400) return out;
    GLINT_RETURN_IF_ERROR(s);
    return out;
  }

  Result<ClientResponse> Download(const std::string& target, const HeaderList& headers,
                                  const std::function<Status(const char*, size_t)>& sink,
                                  const std::function<Status(const ClientResponse&)>& on_head) override {
    ClientResponse out;
    Exchange ex;
    ex.out = &out;
    ex.sink = &sink;
    ex.on_head = &on_head;
    Prepare("GET", target, ex);
    GLINT_RETURN_IF_ERROR(Perform(headers, ex));
    return out;
  }

 private:
  // Resetting keeps the connection cache: the next request reuses the open connection.
  CURL* Prepare(const std::string& method, const std::string& target, Exchange& ex) {
    CURL* c = handle_.get();
    curl_easy_reset(c);
    url_ = base_ + target;
    curl_easy_setopt(c, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "glint");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
    ex.stall_limit = std::chrono::milliseconds(options_.stall_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &OnProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &ex);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!options_.pin_address.empty()) Pin(c);
    if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (!options_.verify_tls) {
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &ex);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ex);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_);
    error_[0] = '\0';
    if (method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (method != "GET") {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    return c;
  }

  void Pin(CURL* c) {
    curl_easy_setopt(c, CURLOPT_PROXY, "");  // no proxy from the environment
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, &OpenPinnedSocket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &options_.pin_address);
    bool v6 = options_.pin_address.find(':') != std::string::npos;
    std::string entry = options_.pin_host + ":" + std::to_string(options_.pin_port) + ":" +
                        (v6 ? "[" + options_.pin_address + "]" : options_.pin_address);
    resolve_.reset(curl_slist_append(nullptr, entry.c_str()));
    curl_easy_setopt(c, CURLOPT_RESOLVE, resolve_.get());
  }

  Status Perform(const HeaderList& headers, Exchange& ex) {
    curl_slist* list = nullptr;
    for (const auto& [k, v] : headers) list = curl_slist_append(list, (k + ": " + v).c_str());
    // No "Expect: 100-continue" round trip before bodies.
    list = curl_slist_append(list, "Expect:");
    HeaderSlist owned(list);
    curl_easy_setopt(handle_.get(), CURLOPT_HTTPHEADER, owned.get());
    CURLcode rc = curl_easy_perform(handle_.get());
    if (!ex.error.ok()) return ex.error;
    if (rc != CURLE_OK) {
      std::string detail = error_[0] ? error_ : curl_easy_strerror(rc);
      return Status::Unavailable(url_ + ": " + detail);
    }
    long code = 0;
    curl_easy_getinfo(handle_.get(), CURLINFO_RESPONSE_CODE, &code);
    ex.out->status = static_cast<int>(code);
    return Status::Ok();
  }

  std::string base_, url_;
  ClientOptions options_;
  CurlHandle handle_;
  HeaderSlist resolve_;
  char error_[CURL_ERROR_SIZE] = {};
};

}  // namespace

Result<std::unique_ptr<HttpClient>> HttpClient::Create(const std::string& base_url, const ClientOptions& options) {
  static const bool initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!initialised) return Status::Internal("libcurl failed to initialise");
  if (base_url.rfind("http://", 0) != 0 && base_url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("unsupported URL '" + base_url + "': use http(s)://HOST[:PORT]");
  }
  size_t host_start = base_url.find("://") + 3;
  if (host_start >= base_url.size() || base_url[host_start] == '/' || base_url[host_start] == ':') {
    return Status::InvalidArgument("no host in URL '" + base_url + "'");
  }
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  CurlHandle handle(curl_easy_init());
  if (!handle) return Status::Internal("libcurl could not create a handle");
  return std::unique_ptr<HttpClient>(new CurlClient(std::move(base), options, std::move(handle)));
}

}  // namespace glint::client
