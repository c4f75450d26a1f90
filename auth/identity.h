// Built-in identity, Keystone v3 compatible: projects, users (PBKDF2 password hashes),
// roles and role assignments, kept in the catalog database so every API node sees the
// same; and the token service that issues, validates and revokes tokens.
//
// Tokens are AES-256-GCM encrypted and authenticated payloads (user, project, expiry,
// audit id) under keys that also live in the database: `glint-manage token-rotate` adds a
// new key, every node picks it up without restart, and older keys keep validating until
// pruned. Revocations are database rows, so a token revoked on one node is refused by all
// (within the validation cache's lifetime, a few seconds). All calls are thread-safe and
// may block on the database: they run on worker threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "auth/password_hash.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"

namespace glint::auth {

struct Project {
  std::string id, name, domain_id = "default";
  bool enabled = true;
};

struct User {
  std::string id, name, domain_id = "default";
  std::optional<std::string> default_project_id;
  bool enabled = true;
};

struct LoginRecord {
  User user;
  std::string password_hash;
};

struct Role {
  std::string id, name;
};

struct TokenInfo {
  std::string user_id;
  std::optional<std::string> project_id;  // unscoped tokens have none
  int64_t issued_at = 0, expires_at = 0;  // microseconds
  std::string audit_id;
  std::vector<std::string> methods;
};

class IdentityStore {
 public:
  virtual ~IdentityStore() = default;
  virtual Result<Project> CreateProject(const std::string& name) = 0;
  virtual Result<Project> GetProject(const std::string& id) = 0;
  virtual Result<Project> FindProject(const std::string& name) = 0;
  virtual Result<std::vector<Project>> ListProjects() = 0;
  virtual Result<User> CreateUser(const std::string& name, const std::string& password,
                                  std::optional<std::string> default_project) = 0;
  virtual Result<User> GetUser(const std::string& id) = 0;
  virtual Result<User> FindUser(const std::string& name) = 0;
  virtual Result<std::vector<User>> ListUsers() = 0;
  // A user and the stored password hash, by name or id; NotFound for an unknown user.
  // Logins go through PasswordLogin (auth/password_login.h), which checks the hash.
  virtual Result<LoginRecord> FindLogin(const std::string& user_name_or_id, bool by_id) = 0;
  // Failed logins counted under `key` (a user or a source address): the count when the
  // last one is later than `since`, else 0. Recording one starts again at 1 after `since`;
  // rows past their window are pruned now and then. Shared by all API nodes.
  virtual Result<int64_t> RecentLoginFailures(const std::string& key, int64_t since) = 0;
  virtual Status RecordLoginFailure(const std::string& key, int64_t now, int64_t since) = 0;
  virtual Status ClearLoginFailures(const std::string& key) = 0;
  virtual Result<Role> EnsureRole(const std::string& name) = 0;
  virtual Status AssignRole(const std::string& user_id, const std::string& project_id,
                            const std::string& role_name) = 0;
  virtual Result<std::vector<Role>> RolesOf(const std::string& user_id, const std::string& project_id) = 0;
  virtual Result<std::vector<Project>> ProjectsOf(const std::string& user_id) = 0;

  // Unified limits: a project's own limit for `resource`, else the registered default
  // (project ""), else -1 (unlimited).
  virtual Result<int64_t> GetLimit(const std::string& project_id, const std::string& resource) = 0;
  virtual Status SetLimit(const std::string& project_id, const std::string& resource, int64_t value) = 0;

  // Token keys: (id, 32-byte secret). The highest id is the one new tokens use.
  virtual Result<std::vector<std::pair<int64_t, std::string>>> TokenKeys() = 0;
  virtual Status AddTokenKey(const std::string& secret, int64_t now) = 0;
  virtual Status PruneTokenKeys(int64_t created_before, int keep_at_least) = 0;
  virtual Status Revoke(const std::string& audit_id, int64_t expires_at) = 0;
  virtual Result<bool> IsRevoked(const std::string& audit_id) = 0;
};

// Opens the identity tables in the catalog's database (the same [database] connection):
// on SQLite creating or upgrading them, on MariaDB/MySQL requiring `glint-manage db-sync`.
std::unique_ptr<IdentityStore> OpenIdentityStore(const std::string& connection, Status* status);
// `glint-manage db-sync` / `db-version` for the identity tables (0: none yet).
Result<int64_t> SyncIdentitySchema(const std::string& connection);
Result<int64_t> IdentitySchemaVersion(const std::string& connection);
int64_t LatestIdentitySchemaVersion();

class TokenService {
 public:
  // `clock` decides expiry (tests step a ManualClock); `random` makes keys and nonces
  // (tests may seed it).
  TokenService(IdentityStore& store, int64_t lifetime_seconds, const Clock& clock = SystemClock(),
               Random& random = SystemRandom())
      : store_(store), lifetime_(lifetime_seconds), clock_(clock), random_(random) {}
  Result<std::string> Issue(const TokenInfo& info);
  // Unauthenticated for malformed, forged, expired or revoked tokens.
  Result<TokenInfo> Validate(const std::string& token);
  Status Revoke(const std::string& token);
  int64_t lifetime_seconds() const { return lifetime_; }
  const Clock& clock() const { return clock_; }

 private:
  // The key with `id`, or with id < 0 the newest as "<id>:<secret>". Keys are cached and
  // re-read from the store when an unknown id shows up (rotation on another node).
  Result<std::string> KeyFor(int64_t id, bool reload);
  IdentityStore& store_;
  int64_t lifetime_;
  const Clock& clock_;
  Random& random_;
  std::mutex keys_mu_;
  std::map<int64_t, std::string> keys_;
};

// The authentication hook of a cloud with built-in identity: the bootstrap admin token,
// or a token issued by TokenService (roles read from the assignments, cached briefly).
std::unique_ptr<Authenticator> NewIdentityAuthenticator(IdentityStore& store, TokenService& tokens,
                                                        std::string admin_token);

}  // namespace glint::auth
