// KeystoneClient: the two Keystone v3 calls Glint makes as a client: issuing a token for a
// user and password (glint-fs's credential, the service user of Glint's authenticator)
// and validating someone else's token (GET /v3/auth/tokens, for the authenticator).
// Works against a real Keystone and Glint's built-in identity API alike.
//
// Threads: any. Calls reuse kept-alive connections from a ClientPool (one connection per
// call in flight, idle ones kept for the next call), so calls from several threads never
// wait for each other and no lock is held during I/O.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/client_pool.h"
#include "client/http_client.h"
#include "common/status.h"

namespace glint::client {

struct PasswordCredentials {
  std::string username, password, project_name;
  // Domains by name or by id (one of each is enough; names win when both are set).
  std::string user_domain_name, user_domain_id = "default";
  std::string project_domain_name, project_domain_id = "default";
};

// What a token says about its holder.
struct TokenInfo {
  std::string token;  // the token itself (X-Subject-Token), when issued
  std::optional<std::string> user_id, project_id;
  std::vector<std::string> roles;  // lowercased names
  std::optional<int64_t> expires_at;  // microseconds since the epoch
};

class KeystoneClient {
 public:
  // `auth_url` is the v3 root, e.g. http://keystone:5000/v3 or http://glint:9292/identity/v3.
  explicit KeystoneClient(std::string auth_url, ClientOptions options = {});

  // POST /auth/tokens (password method, project scope). Unauthenticated when refused,
  // Unavailable when Keystone does not answer properly.
  Result<TokenInfo> IssueToken(const PasswordCredentials& credentials) const;
  // GET /auth/tokens with `service_token` authorising the call. Unauthenticated when
  // `subject` is not valid (401 and 404); a 401 for the service token itself is reported
  // as kPermissionDenied so the caller can renew it and retry.
  Result<TokenInfo> ValidateToken(const std::string& service_token, const std::string& subject,
                                  bool allow_expired) const;
  // Connections waiting for reuse (for tests).
  size_t idle_connections() const { return pool_->idle(); }

 private:
  std::string auth_url_;
  std::unique_ptr<ClientPool> pool_;  // a pointer: the pool is neither copied nor moved
};

// Parses a Keystone token body ({"token": {...}}); exposed for tests and fuzzing.
Result<TokenInfo> ParseTokenBody(const std::string& body);

}  // namespace glint::client
