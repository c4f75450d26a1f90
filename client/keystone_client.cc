#include "client/keystone_client.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/ids.h"

namespace glint::client {

using nlohmann::json;

namespace {

json Domain(const std::string& name, const std::string& id) {
  return name.empty() ? json{{"id", id}} : json{{"name", name}};
}

std::optional<std::string> StringAt(const json& obj, const char* object, const char* key) {
  if (!obj.contains(object) || !obj[object].is_object()) return std::nullopt;
  const json& o = obj[object];
  if (!o.contains(key) || !o[key].is_string()) return std::nullopt;
  return o[key].get<std::string>();
}

}  // namespace

Result<TokenInfo> ParseTokenBody(const std::string& body) {
  // Keystone's token bodies are shallow; a deep one is not Keystone's.
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("token") || !parsed["token"].is_object()) {
    return Status::Unavailable("Keystone sent a malformed token body");
  }
  const json& t = parsed["token"];
  TokenInfo info;
  info.user_id = StringAt(t, "user", "id");
  info.project_id = StringAt(t, "project", "id");
  if (t.contains("roles") && t["roles"].is_array()) {
    for (const auto& r : t["roles"]) {
      if (!r.is_object() || !r.contains("name") || !r["name"].is_string()) continue;
      std::string name = r["name"].get<std::string>();
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      info.roles.push_back(name);
    }
  }
  if (t.contains("expires_at") && t["expires_at"].is_string()) info.expires_at = ParseIso(t["expires_at"].get<std::string>());
  return info;
}

KeystoneClient::KeystoneClient(std::string auth_url, ClientOptions options)
    : auth_url_(std::move(auth_url)) {
  while (!auth_url_.empty() && auth_url_.back() == '/') auth_url_.pop_back();
  pool_ = std::make_unique<ClientPool>(auth_url_, std::move(options));
}

Result<TokenInfo> KeystoneClient::IssueToken(const PasswordCredentials& c) const {
  auto client = pool_->Borrow();
  if (!client.ok()) return client.status();
  json body = {{"auth",
                {{"identity",
                  {{"methods", {"password"}},
                   {"password", {{"user", {{"name", c.username}, {"domain", Domain(c.user_domain_name, c.user_domain_id)},
                                           {"password", c.password}}}}}}},
                 {"scope", {{"project", {{"name", c.project_name},
                                         {"domain", Domain(c.project_domain_name, c.project_domain_id)}}}}}}}};
  auto r = (*client)->Request("POST", "/auth/tokens", {{"Content-Type", "application/json"}},
                              body.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!r.ok()) {
    client->Discard();
    return Status::Unavailable("identity service unreachable: " + r.status().message());
  }
  if (r->status == 401 || r->status == 403 || r->status == 404) {
    return Status::Unauthenticated("the identity service refused user " + c.username + ": HTTP " +
                                   std::to_string(r->status));
  }
  if (r->status != 201) return Status::Unavailable("the identity service answered HTTP " + std::to_string(r->status));
  auto info = ParseTokenBody(r->body);
  if (!info.ok()) return info.status();
  info->token = r->Header("x-subject-token");
  if (info->token.empty()) return Status::Unavailable("the identity service issued no X-Subject-Token");
  return info;
}

Result<TokenInfo> KeystoneClient::ValidateToken(const std::string& service_token, const std::string& subject,
                                                bool allow_expired) const {
  auto client = pool_->Borrow();
  if (!client.ok()) return client.status();
  auto r = (*client)->Request("GET", std::string("/auth/tokens") + (allow_expired ? "?allow_expired=1" : ""),
                              {{"X-Auth-Token", service_token}, {"X-Subject-Token", subject}}, "");
  if (!r.ok()) {
    client->Discard();
    return Status::Unavailable("Keystone unreachable: " + r.status().message());
  }
  if (r->status == 200) return ParseTokenBody(r->body);
  if (r->status == 404) return Status::Unauthenticated("token not valid");
  if (r->status == 401) return Status::PermissionDenied("Keystone refused the service token");
  return Status::Unavailable("Keystone answered HTTP " + std::to_string(r->status));
}

}  // namespace glint::client
