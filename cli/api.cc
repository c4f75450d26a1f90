#include "cli/api.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "common/digest.h"

namespace glint::cli {

using client::ClientResponse;
using client::HeaderList;
using client::HttpClient;

void Die(const std::string& msg) {
  std::fprintf(stderr, "glint: %s\n", msg.c_str());
  std::exit(1);
}

void DieHttp(const ClientResponse& r) {
  std::string msg;
  json body = json::parse(r.body, nullptr, false);
  if (!body.is_discarded() && body.is_object()) {
    for (auto& [k, v] : body.items()) {
      if (v.is_object() && v.contains("message") && v["message"].is_string()) {
        msg = v["message"].get<std::string>();
      }
    }
  }
  if (msg.empty()) msg = r.body.substr(0, 200);
  Die("HTTP " + std::to_string(r.status) + ": " + msg);
}

namespace {

class Progress {
 public:
  Progress(bool enabled, uint64_t total) : enabled_(enabled && ::isatty(2)), total_(total) {}
  void Add(uint64_t n) {
    done_ += n;
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100) && done_ < total_) return;
    last_ = now;
    int pct = total_ ? static_cast<int>(100 * done_ / total_) : 100;
    int bars = pct * 40 / 100;
    std::fprintf(stderr, "\r[%-40s] %3d%% %8.1f MiB", std::string(bars, '=').c_str(), pct,
                 done_ / 1048576.0);
    std::fflush(stderr);
  }
  ~Progress() {
    if (enabled_) std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_;
  uint64_t total_, done_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

Api::Api(const Globals& g) : g_(g) {
  if (g.url.empty()) Die("no image service URL: set OS_IMAGE_URL or --os-image-url");
  if (g.token.empty()) Die("no token: set OS_AUTH_TOKEN or --os-auth-token");
  auto c = HttpClient::Create(g.url);
  if (!c.ok()) Die(c.status().message());
  client_ = std::move(c).value();
  std::string u = g.url;
  size_t scheme = u.find("://");
  size_t slash = u.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  prefix_ = slash == std::string::npos ? "" : u.substr(slash);
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
  // Accept both http://host:9292 and http://host:9292/v2 as the endpoint.
  if (prefix_.size() >= 3 && prefix_.compare(prefix_.size() - 3, 3, "/v2") == 0) {
    prefix_.resize(prefix_.size() - 3);
  }
}

json Api::Call(const std::string& method, const std::string& path, const json* body,
               const std::string& content_type, int* status, const HeaderList& extra) {
  HeaderList h = Auth();
  h.insert(h.end(), extra.begin(), extra.end());
  std::string payload;
  if (body) {
    h.emplace_back("Content-Type", content_type);
    payload = body->dump();
  }
  auto r = client_->Request(method, prefix_ + path, h, payload);
  if (!r.ok()) Die(r.status().message());
  if (r->status >= 400) DieHttp(*r);
  if (status) *status = r->status;
  if (r->body.empty()) return json();
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded()) Die("the server answered with malformed JSON");
  return j;
}

void Api::SendData(const std::string& id, const std::string& file, bool progress,
                   const std::string& target, const std::string& store) {
  int fd = file == "-" ? 0 : ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Die("cannot open " + file + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) Die(file + " is not a regular file");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  Progress bar(progress, size);
  HeaderList h = Auth();
  h.emplace_back("Content-Type", "application/octet-stream");
  if (!store.empty()) h.emplace_back("X-Image-Meta-Store", store);  // multi-store: where to
  auto r = client_->Upload("PUT", prefix_ + "/v2/images/" + id + "/" + target, h, size,
                           [&](char* buf, size_t max) -> Result<size_t> {
                             ssize_t n = ::read(fd, buf, max);
                             if (n < 0) return Status::FromErrno(errno, "read " + file);
                             bar.Add(static_cast<uint64_t>(n));
                             return static_cast<size_t>(n);
                           });
  if (fd != 0) ::close(fd);
  if (!r.ok()) Die(r.status().message());
  if (r->status >= 400) DieHttp(*r);
}

void Api::Download(const std::string& id, const std::string& file, bool progress) {
  json img = Call("GET", "/v2/images/" + id);
  uint64_t size = img["size"].is_number() ? img["size"].get<uint64_t>() : 0;
  if (file.empty() && ::isatty(1)) Die("refusing to write image data to a terminal: use --file");
  int fd = file.empty() ? 1 : ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die("cannot create " + file + ": " + std::strerror(errno));
  Progress bar(progress, size);
  Digest md5(Digest::Algorithm::kMd5);
  auto r = client_->Download(prefix_ + "/v2/images/" + id + "/file", Auth(),
                             [&](const char* data, size_t n) -> Status {
                               md5.Update(data, n);
                               size_t off = 0;
                               while (off < n) {
                                 ssize_t w = ::write(fd, data + off, n - off);
                                 if (w < 0) return Status::FromErrno(errno, "write " + file);
                                 off += static_cast<size_t>(w);
                               }
                               bar.Add(n);
                               return Status::Ok();
                             });
  if (!r.ok()) Die(r.status().message());
  if (r->status >= 400) DieHttp(*r);
  if (r->status == 204) Die("image " + id + " has no data");
  if (fd != 1 && ::close(fd) != 0) Die("close " + file + ": " + std::strerror(errno));
  std::string expected = r->Header("content-md5");
  std::string got = md5.FinishHex();
  if (!expected.empty() && expected != got) {
    Die("corrupt download: md5 " + got + " does not match the image checksum " + expected);
  }
}

}  // namespace glint::cli
