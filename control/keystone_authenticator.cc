#include "control/keystone_authenticator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/ids.h"
#include "control/http_client.h"

namespace glint::control {
namespace {

using nlohmann::json;

class KeystoneAuthenticator final : public auth::Authenticator {
 public:
  explicit KeystoneAuthenticator(KeystoneOptions o) : o_(std::move(o)) {
    while (!o_.auth_url.empty() && o_.auth_url.back() == '/') o_.auth_url.pop_back();
    if (o_.www_authenticate_uri.empty()) o_.www_authenticate_uri = o_.auth_url;
    size_t scheme = o_.auth_url.find("://");
    size_t slash = o_.auth_url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    base_ = o_.auth_url.substr(0, slash);
    path_ = slash == std::string::npos ? "" : o_.auth_url.substr(slash);
  }

  Result<auth::RequestContext> Authenticate(const auth::Credentials& c) override {
    if (c.auth_token.empty()) return Unauthorized("no X-Auth-Token");
    if (auto admin = auth::MatchAdminToken(c.auth_token, o_.admin_token)) return *admin;
    std::string token(c.auth_token);
    int64_t now = NowMicros();
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = cache_.find(token);
      if (it != cache_.end() && it->second.first > now) return it->second.second;
    }
    bool allow_expired = false;
    if (!c.service_token.empty()) {
      auto service = Validate(std::string(c.service_token), false);
      if (!service.ok()) return service.status();
      allow_expired = true;  // a valid service token vouches for an expired user token
    }
    auto body = Validate(token, allow_expired);
    if (!body.ok()) return body.status();
    const json& t = (*body)["token"];
    auth::RequestContext ctx;
    if (t.contains("user")) ctx.user_id = t["user"].value("id", "");
    if (t.contains("project")) ctx.project_id = t["project"].value("id", "");
    if (t.contains("roles")) {
      for (const auto& r : t["roles"]) {
        std::string name = r.value("name", "");
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        ctx.roles.push_back(name);
        if (name == "admin") ctx.is_admin = true;
      }
    }
    int64_t expires = ParseIso(t.value("expires_at", "")).value_or(now);
    if (!allow_expired) {
      std::lock_guard<std::mutex> l(mu_);
      if (cache_.size() > 10000) cache_.clear();
      cache_[token] = {std::min<int64_t>(expires, now + int64_t{o_.token_cache_time} * 1000000), ctx};
    }
    return ctx;
  }

 private:
  Status Unauthorized(const std::string& why) {
    return Status::Unauthenticated("The request you have made requires authentication (" + why + ")");
  }

  Result<json> Validate(const std::string& token, bool allow_expired) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto service = ServiceToken(attempt > 0);
      if (!service.ok()) return service.status();
      auto client = HttpClient::Create(base_);
      if (!client.ok()) return client.status();
      auto r = (*client)->Request("GET", path_ + "/auth/tokens" + (allow_expired ? "?allow_expired=1" : ""),
                                  {{"X-Auth-Token", *service}, {"X-Subject-Token", token}}, "");
      if (!r.ok()) return Status::Unavailable("Keystone unreachable: " + r.status().message());
      if (r->status == 200) {
        json body = json::parse(r->body, nullptr, false);
        if (body.is_discarded() || !body.contains("token")) return Status::Unavailable("Keystone sent malformed JSON");
        return body;
      }
      if (r->status == 401 && attempt == 0) continue;  // our service token expired: renew once
      if (r->status == 404 || r->status == 401) return Unauthorized("token not valid");
      return Status::Unavailable("Keystone answered HTTP " + std::to_string(r->status));
    }
    return Unauthorized("token not valid");
  }

  Result<std::string> ServiceToken(bool renew) {
    std::lock_guard<std::mutex> l(service_mu_);
    if (!renew && !service_token_.empty() && NowMicros() < service_renew_at_) return service_token_;
    auto client = HttpClient::Create(base_);
    if (!client.ok()) return client.status();
    json body = {{"auth",
                  {{"identity",
                    {{"methods", {"password"}},
                     {"password", {{"user", {{"name", o_.username}, {"domain", {{"name", o_.user_domain_name}}},
                                             {"password", o_.password}}}}}}},
                   {"scope", {{"project", {{"name", o_.project_name},
                                           {"domain", {{"name", o_.project_domain_name}}}}}}}}}};
    auto r = (*client)->Request("POST", path_ + "/auth/tokens", {{"Content-Type", "application/json"}}, body.dump());
    if (!r.ok()) return Status::Unavailable("Keystone unreachable: " + r.status().message());
    if (r->status != 201) {
      spdlog::error("Keystone refused Glint's service user {}: HTTP {}", o_.username, r->status);
      return Status::Unavailable("Glint cannot authenticate to Keystone");
    }
    service_token_ = r->Header("x-subject-token");
    json t = json::parse(r->body, nullptr, false);
    int64_t now = NowMicros();
    int64_t expires = now + 600 * 1000000LL;
    if (!t.is_discarded() && t.contains("token")) {
      expires = ParseIso(t["token"].value("expires_at", "")).value_or(expires);
    }
    service_renew_at_ = now + (expires - now) / 2;
    return service_token_;
  }

  KeystoneOptions o_;
  std::string base_, path_;
  std::mutex mu_, service_mu_;
  std::unordered_map<std::string, std::pair<int64_t, auth::RequestContext>> cache_;
  std::string service_token_;
  int64_t service_renew_at_ = 0;
};

}  // namespace

std::unique_ptr<auth::Authenticator> NewKeystoneAuthenticator(const KeystoneOptions& options) {
  return std::make_unique<KeystoneAuthenticator>(options);
}

}  // namespace glint::control
