// PasswordLogin: the password method of the built-in identity (POST /v3/auth/tokens), with
// the defences a login that anyone can reach needs:
//
// * Every attempt that gets as far as a password check costs one key derivation, whether
//   the user exists, is disabled, or was named in another domain (a dummy hash stands in),
//   so timing does not tell which user names exist.
// * Failed attempts are counted per user (Keystone's [security_compliance]
//   lockout_failure_attempts and lockout_duration) and per source address; beyond either
//   limit an attempt is refused at once, without a key derivation. The counters live in
//   the identity database, so every API node sharing it counts the same failures; a
//   success clears the user's counter (not the address's).
//
// Thread-safe; blocks on the database and the KDF, so it runs on worker threads.
#pragma once

#include <cstdint>
#include <string>

#include "auth/identity.h"
#include "auth/password_hash.h"
#include "common/clock.h"
#include "common/status.h"

namespace glint::auth {

struct LoginLimits {
  int user_failures = 5;      // failures per user before it is locked; 0 = no limit
  int address_failures = 30;  // failures per source address before it is refused; 0 = no limit
  int64_t window_seconds = 300;  // counted since the last failure; also how long a lock lasts
};

struct LoginAttempt {
  std::string user;       // name or id, as given
  bool by_id = false;
  bool known_domain = true;  // false: the user was named in a domain Glint does not have
  std::string password;
  std::string source;     // the client's address; "" = not known (not counted)
};

class PasswordLogin {
 public:
  PasswordLogin(IdentityStore& store, LoginLimits limits, const Clock& clock = SystemClock(),
                PasswordHasher& hasher = DefaultPasswordHasher())
      : store_(store), limits_(limits), clock_(clock), hasher_(hasher) {}

  // The user, or Unauthenticated: a wrong password, an unknown or disabled user ("The
  // request you have made requires authentication."), a locked user ("The account is
  // locked for user: <as given>.", as Keystone says it) or a refused address.
  Result<User> Login(const LoginAttempt& attempt);

 private:
  Status Refusal(const LoginAttempt& attempt, const std::string& user_key, int64_t since);
  void CountFailure(const std::string& key, int64_t now, int64_t since);

  IdentityStore& store_;
  const LoginLimits limits_;
  const Clock& clock_;
  PasswordHasher& hasher_;
};

}  // namespace glint::auth
