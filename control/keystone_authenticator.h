// KeystoneAuthenticator: validates incoming tokens against an external Keystone, as
// keystonemiddleware's auth_token does for Glance: a service user's token authorises
// GET /v3/auth/tokens for each new user token; results are cached (token_cache_time,
// never beyond the token's expiry); invalid or expired tokens get 401 with
// `WWW-Authenticate: Keystone uri="<www_authenticate_uri>"`; a valid X-Service-Token
// lets an expired user token through (allow_expired), for long-running service
// operations. Thread-safe; blocks on HTTP (runs on worker threads).
#pragma once

#include <memory>
#include <string>

#include "auth/authenticator.h"

namespace glint::control {

struct KeystoneOptions {
  std::string auth_url;              // e.g. http://keystone:5000/v3
  std::string www_authenticate_uri;  // advertised to clients; default auth_url
  std::string username, password, project_name;
  std::string user_domain_name = "Default", project_domain_name = "Default";
  int token_cache_time = 300;        // seconds
  std::string admin_token;           // Glint's bootstrap token, still accepted if set
};

std::unique_ptr<auth::Authenticator> NewKeystoneAuthenticator(const KeystoneOptions& options);

}  // namespace glint::control
