// KeystoneAuthenticator: validates incoming tokens against an external Keystone, as
// keystonemiddleware's auth_token does for Glance: a service user's token authorises
// GET /v3/auth/tokens for each new user token; results are cached (token_cache_time,
// never beyond the token's expiry); invalid or expired tokens get 401 with
// `WWW-Authenticate: Keystone uri="<www_authenticate_uri>"`. A valid X-Service-Token
// carrying one of `service_token_roles` lets an expired user token through
// (allow_expired), for long-running service operations; with
// `service_token_roles_required` a service token without those roles is refused.
// Thread-safe; blocks on HTTP (runs on worker threads), never while holding a lock.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "client/http_client.h"
#include "common/clock.h"

namespace glint::auth {

struct KeystoneOptions {
  std::string auth_url;              // e.g. http://keystone:5000/v3
  std::string www_authenticate_uri;  // advertised to clients; default auth_url
  std::string username, password, project_name;
  std::string user_domain_name = "Default", project_domain_name = "Default";
  int token_cache_time = 300;        // seconds
  std::vector<std::string> service_token_roles = {"service"};
  bool service_token_roles_required = false;
  std::string admin_token;           // Glint's bootstrap token, accepted only if set
  client::ClientOptions http;        // TLS and timeouts towards Keystone
};

std::unique_ptr<Authenticator> NewKeystoneAuthenticator(const KeystoneOptions& options,
                                                        const Clock& clock = SystemClock());

}  // namespace glint::auth
