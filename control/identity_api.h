// IdentityApi: the Keystone v3 calls that clients use, served by glint-api under
// /identity (so one process is a complete image cloud): version documents, token
// issue/validate/revoke (password and token methods, project scope, a service catalog
// whose `image` endpoint is this Glint), and enough of /v3/projects, /v3/users and
// /v3/auth/projects for clients to resolve names. Blocking; runs on worker threads.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "auth/identity.h"
#include "auth/password_login.h"
#include "control/http_types.h"

namespace glint::control {

class IdentityApi {
 public:
  // `trusted_proxies`: peers whose X-Forwarded-For names the client (client_address.h),
  // for the per-address login limit of `login`.
  IdentityApi(auth::IdentityStore& store, auth::TokenService& tokens, auth::Authenticator& authn,
              auth::PasswordLogin& login, std::vector<std::string> trusted_proxies = {},
              std::string region = "RegionOne")
      : store_(store), tokens_(tokens), authn_(authn), login_(login), trusted_proxies_(std::move(trusted_proxies)),
        region_(std::move(region)) {}
  static bool Owns(const std::string& path) {
    return path == "/identity" || path.rfind("/identity/", 0) == 0;
  }
  auth::IdentityStore& store() { return store_; }
  // `base_url` is this server's public base URL (for the catalog and links).
  HttpResponse Handle(const HttpRequest& req, const std::string& base_url);

 private:
  HttpResponse IssueToken(const HttpRequest& req, const std::string& base);
  HttpResponse TokenBody(const auth::TokenInfo& info, const std::string& base, int status);

  auth::IdentityStore& store_;
  auth::TokenService& tokens_;
  auth::Authenticator& authn_;
  auth::PasswordLogin& login_;
  std::vector<std::string> trusted_proxies_;
  std::string region_;
};

}  // namespace glint::control
