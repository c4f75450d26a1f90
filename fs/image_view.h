// ImageView: the images a credential may read, as glint-fs sees them through the API.
//
// Refresh() polls GET /v2/images?status=active conditionally (If-None-Match on the
// catalog generation): an unchanged catalog costs one 304, a changed one a re-list.
// Lookup() asks for one image by id (Nova boots hidden, community or not-yet-accepted
// shared images by id). Calls block on HTTP; glint-fs makes them from its refresh thread
// and from FUSE lookups of unknown ids. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

#include "client/http_client.h"

namespace glint::fs {

struct ImageEntry {
  std::string id;
  std::optional<std::string> name;
  std::optional<std::string> owner;
  std::string status;
  int64_t size = 0;
  int64_t updated_at = 0;  // microseconds
  // Every scalar field of the image record (base and custom) as text, for xattrs.
  std::map<std::string, std::string> fields;
};

// Where glint-fs's token comes from: a fixed token, or a built-in identity user whose
// token is renewed before it expires (and at once when the API answers 401).
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  virtual Result<std::string> Token(bool renew) = 0;
};
std::unique_ptr<TokenSource> NewStaticToken(std::string token);
std::unique_ptr<TokenSource> NewPasswordToken(std::string api_url, std::string user, std::string password,
                                              std::string project, const client::ClientOptions& http);

class ImageView {
 public:
  // `all_visibilities`: list with visibility=all (admins: every image, including other
  // projects' community images); otherwise the API's default list for the credential.
  // `http`: timeouts and TLS of every API call glint-fs makes.
  ImageView(std::string api_url, TokenSource& tokens, bool all_visibilities = false,
            client::ClientOptions http = {});
  ~ImageView();

  // nullopt when nothing changed since the last successful refresh.
  Result<std::optional<std::vector<ImageEntry>>> Refresh();
  // The image if this credential may read its data now (status active); NotFound if it
  // does not exist or is not visible; a non-active image gives Conflict with its status.
  Result<ImageEntry> Lookup(const std::string& id);
  // GET /v2/images/{id}/x-glint-manifest: the body, or nullopt on 404.
  Result<std::optional<std::string>> ManifestJson(const std::string& id);
  // GET /v2/images/{id}/x-glint-boot-set (the boot set merged from every host's reports):
  // the body, or nullopt on 404.
  Result<std::optional<std::string>> BootSetJson(const std::string& id);
  // POST /v2/images/{id}/x-glint-boot-set with `body` (this host's report): the HTTP status.
  // `timeout_ms` > 0 (a report at shutdown): on a connection of its own whose connect and
  // stall timeouts are at most that, not waiting for the shared one; 0: the shared one.
  Result<int> ReportBootSet(const std::string& id, const std::string& body, int timeout_ms = 0);
  const std::string& api_url() const { return url_; }

 private:
  std::unique_ptr<client::HttpClient>& Client();
  // GET with the current token; on 401 renews the token once and retries.
  Result<client::ClientResponse> Get(const std::string& target, client::HeaderList headers);
  Result<client::ClientResponse> Send(const std::string& method, const std::string& target,
                                      client::HeaderList headers, const std::string& body);
  // The same on `client`.
  Result<client::ClientResponse> SendWith(client::HttpClient& client, const std::string& method,
                                          const std::string& target, const client::HeaderList& headers,
                                          const std::string& body);
  std::string url_, etag_;
  TokenSource& tokens_;
  bool all_ = false;
  std::mutex mu_;
  std::unique_ptr<client::HttpClient> client_;
  client::ClientOptions http_;
};

}  // namespace glint::fs
