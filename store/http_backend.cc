// The read-only `http` store, as Glance's: http(s) locations (added through the locations
// API, or adopted from Glance) are read from the remote server, never written or deleted.
// Every URL goes through client/'s outbound filter (resolved once, the connection pinned
// to the checked address, redirects re-checked, at most max_redirects). Opening a location
// asks its size with HEAD (as Glance's get_size); reads are Range requests, and a 200 to
// one is an error (client::ReadRange).
#include <mutex>

#include "client/outbound_fetch.h"
#include "store/backend.h"

namespace glint::store {
namespace {

bool IsHttpUrl(const std::string& url) { return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0; }

class HttpReader final : public Reader {
 public:
  HttpReader(std::unique_ptr<client::HttpClient> client, std::string target, int64_t size)
      : client_(std::move(client)), target_(std::move(target)), size_(size) {}
  int64_t size() const override { return size_; }
  Result<size_t> ReadAt(int64_t offset, char* buf, size_t len) override {
    if (offset >= size_ || len == 0) return size_t{0};
    len = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(len), size_ - offset));
    std::lock_guard<std::mutex> hold(mu_);  // one request at a time on the connection
    return client::ReadRange(*client_, target_, {}, offset, buf, len);
  }

 private:
  std::mutex mu_;
  std::unique_ptr<client::HttpClient> client_;
  std::string target_;
  int64_t size_;
};

class HttpBackend final : public Backend {
 public:
  HttpBackend(std::string id, client::OutboundOptions options) : id_(std::move(id)), options_(std::move(options)) {}
  const std::string& id() const override { return id_; }
  bool OwnsLocation(const std::string& url) const override { return IsHttpUrl(url); }
  bool ReadOnly() const override { return true; }

  Result<std::unique_ptr<Writer>> NewWriter(const std::string&, const std::string&) override {
    return Status::InvalidArgument("the http store is read-only: images cannot be written to it");
  }

  Result<std::unique_ptr<Reader>> Open(const std::string& location) override {
    client::PinnedUrl final_url;
    auto head = client::FetchFollowingRedirects(location, true, options_, nullptr, nullptr, &final_url);
    if (!head.ok()) return head.status();
    if (head->status == 404) return Status::NotFound("HTTP datastore could not find image at URI");
    if (head->status < 200 || head->status >= 300) {
      return Status::IOError("HTTP URL returned a " + std::to_string(head->status) + " status code");
    }
    std::string length = head->Header("content-length");
    if (length.empty() || length.size() > 18 || length.find_first_not_of("0123456789") != std::string::npos) {
      return Status::IOError("the HTTP server gave no usable Content-Length for the image");
    }
    auto client = client::PinnedClient(final_url, options_.client);
    if (!client.ok()) return client.status();
    return std::unique_ptr<Reader>(
        new HttpReader(std::move(client).value(), final_url.parsed.target, std::stoll(length)));
  }

  // The data is not Glint's: forgetting the location is all a delete does (Glance's http
  // store cannot delete either, and Glance goes on).
  Status Delete(const std::string&) override { return Status::Ok(); }
  Result<std::vector<StoredObject>> ListObjects() override { return std::vector<StoredObject>{}; }
  Status DeleteObject(const StoredObject&) override { return Status::Ok(); }
  std::string LocationFor(const std::string&) const override { return ""; }

 private:
  std::string id_;
  client::OutboundOptions options_;
};

}  // namespace

std::unique_ptr<Backend> NewHttpBackend(const std::string& id, const client::OutboundOptions& options) {
  return std::make_unique<HttpBackend>(id, options);
}

}  // namespace glint::store
