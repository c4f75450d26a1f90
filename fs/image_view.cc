#include "fs/image_view.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "client/keystone_client.h"

namespace glint::fs {

using nlohmann::json;

namespace {

ImageEntry FromJson(const json& j) {
  ImageEntry e;
  e.id = j.value("id", "");
  if (j.contains("name") && j["name"].is_string()) e.name = j["name"].get<std::string>();
  if (j.contains("owner") && j["owner"].is_string()) e.owner = j["owner"].get<std::string>();
  e.status = j.value("status", "");
  if (j.contains("size") && j["size"].is_number_integer()) e.size = j["size"].get<int64_t>();
  if (j.contains("updated_at") && j["updated_at"].is_string()) {
    e.updated_at = ParseIso(j["updated_at"].get<std::string>()).value_or(0);
  }
  for (const auto& [k, v] : j.items()) {
    if (k == "self" || k == "file" || k == "schema") continue;
    if (v.is_string()) {
      e.fields[k] = v.get<std::string>();
    } else if (v.is_number() || v.is_boolean()) {
      e.fields[k] = v.dump();
    } else if (v.is_array()) {
      std::string s;
      for (const auto& x : v) {
        if (x.is_string()) s += (s.empty() ? "" : ",") + x.get<std::string>();
      }
      e.fields[k] = s;
    }
  }
  return e;
}

}  // namespace

namespace {

class StaticToken final : public TokenSource {
 public:
  explicit StaticToken(std::string t) : token_(std::move(t)) {}
  Result<std::string> Token(bool) override { return token_; }

 private:
  std::string token_;
};

class PasswordToken final : public TokenSource {
 public:
  PasswordToken(std::string url, std::string user, std::string password, std::string project,
                client::ClientOptions http)
      : url_(std::move(url)), user_(std::move(user)), password_(std::move(password)),
        project_(std::move(project)), http_(std::move(http)) {}
  Result<std::string> Token(bool renew) override {
    std::lock_guard<std::mutex> l(mu_);
    // Renew ahead of expiry so a long-lived mount never presents an expired token.
    if (!renew && !token_.empty() && NowMicros() < renew_at_) return token_;
    client::PasswordCredentials cred;
    cred.username = user_;
    cred.password = password_;
    cred.project_name = project_;
    auto issued = client::KeystoneClient(url_ + "/identity/v3", http_).IssueToken(cred);
    if (!issued.ok()) return issued.status();
    token_ = issued->token;
    int64_t now = NowMicros();
    int64_t expires = issued->expires_at.value_or(now + 600 * 1000000LL);
    renew_at_ = now + (expires - now) * 3 / 4;
    return token_;
  }

 private:
  std::mutex mu_;
  std::string url_, user_, password_, project_, token_;
  client::ClientOptions http_;
  int64_t renew_at_ = 0;
};

}  // namespace

std::unique_ptr<TokenSource> NewStaticToken(std::string token) {
  return std::make_unique<StaticToken>(std::move(token));
}
std::unique_ptr<TokenSource> NewPasswordToken(std::string api_url, std::string user, std::string password,
                                              std::string project, const client::ClientOptions& http) {
  return std::make_unique<PasswordToken>(std::move(api_url), std::move(user), std::move(password),
                                         std::move(project), http);
}

ImageView::ImageView(std::string api_url, TokenSource& tokens, bool all_visibilities, client::ClientOptions http)
    : url_(std::move(api_url)), tokens_(tokens), all_(all_visibilities), http_(std::move(http)) {
  while (!url_.empty() && url_.back() == '/') url_.pop_back();
}

Result<client::ClientResponse> ImageView::Get(const std::string& target, client::HeaderList headers) {
  return Send("GET", target, std::move(headers), "");
}

Result<client::ClientResponse> ImageView::Send(const std::string& method, const std::string& target,
                                               client::HeaderList headers, const std::string& body) {
  auto& client = Client();
  if (!client) return Status::InvalidArgument("bad API URL " + url_);
  auto r = SendWith(*client, method, target, headers, body);
  if (!r.ok() && r.status().code() != Status::Code::kUnauthenticated) client_.reset();  // reconnect next time
  return r;
}

Result<client::ClientResponse> ImageView::SendWith(client::HttpClient& client, const std::string& method,
                                                   const std::string& target, const client::HeaderList& headers,
                                                   const std::string& body) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto token = tokens_.Token(attempt > 0);
    if (!token.ok()) return token.status();
    client::HeaderList h = headers;
    h.emplace_back("X-Auth-Token", *token);
    auto r = client.Request(method, target, h, body);
    if (!r.ok()) return r.status();
    if (r->status != 401) return r;
  }
  return Status::Unauthenticated("the API refused glint-fs's credential");
}
ImageView::~ImageView() = default;

std::unique_ptr<client::HttpClient>& ImageView::Client() {
  if (!client_) {
    auto c = client::HttpClient::Create(url_, http_);
    if (c.ok()) client_ = std::move(c).value();
  }
  return client_;
}

Result<std::optional<std::vector<ImageEntry>>> ImageView::Refresh() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<ImageEntry> out;
  std::string target = std::string("/v2/images?status=active&limit=1000&sort=created_at:asc") +
                       (all_ ? "&visibility=all" : "");
  std::string first_etag;
  bool first = true;
  while (!target.empty()) {
    client::HeaderList h;
    if (first && !etag_.empty()) h.emplace_back("If-None-Match", etag_);
    auto r = Get(target, h);
    if (!r.ok()) return r.status();
    if (r->status == 304) return std::optional<std::vector<ImageEntry>>();
    if (r->status != 200) {
      return Status::Unavailable("image list answered HTTP " + std::to_string(r->status));
    }
    if (first) first_etag = r->Header("etag");
    first = false;
    json page = json::parse(r->body, nullptr, false);
    if (page.is_discarded() || !page.contains("images")) {
      return Status::Unavailable("image list answered malformed JSON");
    }
    for (const auto& img : page["images"]) out.push_back(FromJson(img));
    target = page.contains("next") && page["next"].is_string() ? page["next"].get<std::string>() : "";
  }
  etag_ = first_etag;
  return std::optional<std::vector<ImageEntry>>(std::move(out));
}

Result<ImageEntry> ImageView::Lookup(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto r = Get("/v2/images/" + id, {});
  if (!r.ok()) return r.status();
  if (r->status == 404) return Status::NotFound("image " + id + " not found");
  if (r->status == 401 || r->status == 403) return Status::PermissionDenied("image " + id + " not readable");
  if (r->status != 200) return Status::Unavailable("image lookup answered HTTP " + std::to_string(r->status));
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded()) return Status::Unavailable("image lookup answered malformed JSON");
  ImageEntry e = FromJson(j);
  if (e.status != "active") return Status::Conflict("image " + id + " is " + e.status);
  return e;
}

Result<std::optional<std::string>> ImageView::ManifestJson(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto r = Get("/v2/images/" + id + "/x-glint-manifest", {});
  if (!r.ok()) return r.status();
  if (r->status == 404) return std::optional<std::string>();
  if (r->status != 200) return Status::Unavailable("manifest of " + id + " answered HTTP " + std::to_string(r->status));
  return std::optional<std::string>(std::move(r->body));
}

Result<std::optional<std::string>> ImageView::BootSetJson(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto r = Get("/v2/images/" + id + "/x-glint-boot-set", {});
  if (!r.ok()) return r.status();
  if (r->status == 404) return std::optional<std::string>();
  if (r->status != 200) return Status::Unavailable("boot set of " + id + " answered HTTP " + std::to_string(r->status));
  return std::optional<std::string>(std::move(r->body));
}

Result<int> ImageView::ReportBootSet(const std::string& id, const std::string& body, int timeout_ms) {
  const std::string target = "/v2/images/" + id + "/x-glint-boot-set";
  const client::HeaderList headers = {{"Content-Type", "application/json"}};
  if (timeout_ms > 0) {
    client::ClientOptions bounded = http_;
    bounded.connect_timeout_ms = std::min(bounded.connect_timeout_ms, timeout_ms);
    bounded.stall_timeout_ms = std::min(bounded.stall_timeout_ms, timeout_ms);
    auto client = client::HttpClient::Create(url_, bounded);
    if (!client.ok()) return client.status();
    auto r = SendWith(**client, "POST", target, headers, body);
    if (!r.ok()) return r.status();
    return r->status;
  }
  std::lock_guard<std::mutex> l(mu_);
  auto r = Send("POST", target, headers, body);
  if (!r.ok()) return r.status();
  return r->status;
}

}  // namespace glint::fs
