#include "auth/keystone_authenticator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "client/keystone_client.h"

namespace glint::auth {
namespace {

constexpr size_t kMaxCachedTokens = 10000;

RequestContext ContextOf(const client::TokenInfo& t) {
  RequestContext ctx;
  ctx.user_id = t.user_id;
  ctx.project_id = t.project_id;
  ctx.roles = t.roles;
  ctx.is_admin = std::find(t.roles.begin(), t.roles.end(), "admin") != t.roles.end();
  return ctx;
}

class KeystoneAuthenticator final : public Authenticator {
 public:
  KeystoneAuthenticator(KeystoneOptions o, const Clock& clock)
      : o_(std::move(o)), keystone_(o_.auth_url, o_.http), clock_(clock) {
    for (auto& r : o_.service_token_roles) {
      std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return std::tolower(c); });
    }
  }

  Result<RequestContext> Authenticate(const Credentials& c) override {
    if (c.auth_token.empty()) return Unauthorized("no X-Auth-Token");
    if (auto admin = MatchAdminToken(c.auth_token, o_.admin_token)) return *admin;
    bool allow_expired = false;
    std::vector<std::string> service_roles;
    if (!c.service_token.empty()) {
      auto service = ContextFor(std::string(c.service_token), false);
      if (!service.ok()) return service.status();
      bool has_role = std::any_of(service->roles.begin(), service->roles.end(), [&](const std::string& r) {
        return std::find(o_.service_token_roles.begin(), o_.service_token_roles.end(), r) !=
               o_.service_token_roles.end();
      });
      if (!has_role && o_.service_token_roles_required) {
        return Unauthorized("the service token lacks a service role");
      }
      // As keystonemiddleware: without service_token_roles_required a service token lacking
      // those roles is still honoured (with a warning), for deployments that predate them.
      if (!has_role) spdlog::warn("a service token without any of service_token_roles was presented");
      allow_expired = true;  // a valid service token vouches for an expired user token
      service_roles = service->roles;
    }
    auto ctx = ContextFor(std::string(c.auth_token), allow_expired);
    if (!ctx.ok()) return ctx;
    RequestContext out = *ctx;
    out.service_roles = std::move(service_roles);
    return out;
  }

 private:
  // A token's context, from the cache or Keystone. Only unexpired tokens are cached.
  Result<RequestContext> ContextFor(const std::string& token, bool allow_expired) {
    const int64_t now = clock_.NowMicros();
    if (auto cached = Cached(token, now)) return *cached;
    auto info = Validate(token, allow_expired);
    if (!info.ok()) return info.status();
    RequestContext ctx = ContextOf(*info);
    int64_t expires = info->expires_at.value_or(now);
    if (expires > now) Remember(token, std::min<int64_t>(expires, now + int64_t{o_.token_cache_time} * 1000000), ctx);
    return ctx;
  }

  static Status Unauthorized(const std::string& why) {
    return Status::Unauthenticated("The request you have made requires authentication (" + why + ")");
  }

  std::optional<RequestContext> Cached(const std::string& token, int64_t now) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = cache_.find(token);
    if (it != cache_.end() && it->second.first > now) return it->second.second;
    return std::nullopt;
  }

  void Remember(const std::string& token, int64_t until, const RequestContext& ctx) {
    std::lock_guard<std::mutex> l(mu_);
    if (cache_.size() >= kMaxCachedTokens) cache_.clear();
    cache_[token] = {until, ctx};
  }

  // One retry with a fresh service token when Keystone refuses ours (it expired).
  Result<client::TokenInfo> Validate(const std::string& token, bool allow_expired) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto service = ServiceToken(attempt > 0);
      if (!service.ok()) return service.status();
      auto info = keystone_.ValidateToken(*service, token, allow_expired);
      if (info.ok()) return info;
      if (info.status().code() == Status::Code::kPermissionDenied && attempt == 0) continue;
      if (info.status().code() == Status::Code::kUnauthenticated ||
          info.status().code() == Status::Code::kPermissionDenied) {
        return Unauthorized("token not valid");
      }
      return info.status();
    }
    return Unauthorized("token not valid");
  }

  // The lock guards only the cached value: the HTTP call runs without it, so a Keystone
  // that hangs holds up the callers waiting for that answer, not every request.
  Result<std::string> ServiceToken(bool renew) {
    const int64_t now = clock_.NowMicros();
    {
      std::lock_guard<std::mutex> l(service_mu_);
      if (!renew && !service_token_.empty() && now < service_renew_at_) return service_token_;
    }
    client::PasswordCredentials cred;
    cred.username = o_.username;
    cred.password = o_.password;
    cred.project_name = o_.project_name;
    cred.user_domain_name = o_.user_domain_name;
    cred.project_domain_name = o_.project_domain_name;
    auto issued = keystone_.IssueToken(cred);
    if (!issued.ok()) {
      spdlog::error("Keystone refused Glint's service user {}: {}", o_.username, issued.status().message());
      return Status::Unavailable("Glint cannot authenticate to Keystone");
    }
    int64_t expires = issued->expires_at.value_or(now + 600 * 1000000LL);
    std::lock_guard<std::mutex> l(service_mu_);
    service_token_ = issued->token;
    service_renew_at_ = now + (expires - now) / 2;
    return service_token_;
  }

  KeystoneOptions o_;
  client::KeystoneClient keystone_;
  const Clock& clock_;
  std::mutex mu_, service_mu_;
  std::unordered_map<std::string, std::pair<int64_t, RequestContext>> cache_;
  std::string service_token_;
  int64_t service_renew_at_ = 0;
};

}  // namespace

std::unique_ptr<Authenticator> NewKeystoneAuthenticator(const KeystoneOptions& options, const Clock& clock) {
  return std::make_unique<KeystoneAuthenticator>(options, clock);
}

}  // namespace glint::auth
