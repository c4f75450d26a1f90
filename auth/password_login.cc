#include "auth/password_login.h"

#include <spdlog/spdlog.h>

namespace glint::auth {
namespace {

const char kNotAuthenticated[] = "The request you have made requires authentication.";

// A known user is counted under its id (by name and by id alike); an unknown one under
// what was given, so its lock behaves exactly as a real user's does.
std::string UserKey(const LoginAttempt& a, const Result<LoginRecord>& record) {
  if (record.ok()) return "user:" + record->user.id;
  return (a.by_id ? "user:" : "name:") + a.user;
}

}  // namespace

Status PasswordLogin::Refusal(const LoginAttempt& a, const std::string& user_key, int64_t since) {
  if (limits_.user_failures > 0) {
    auto n = store_.RecentLoginFailures(user_key, since);
    if (!n.ok()) return n.status();
    if (*n >= limits_.user_failures) {
      spdlog::warn("password login refused: user {} is locked after {} failures", user_key, *n);
      return Status::Unauthenticated("The account is locked for user: " + a.user + ".");
    }
  }
  if (limits_.address_failures > 0 && !a.source.empty()) {
    auto n = store_.RecentLoginFailures("addr:" + a.source, since);
    if (!n.ok()) return n.status();
    if (*n >= limits_.address_failures) {
      spdlog::warn("password login refused: {} failures from {}", *n, a.source);
      return Status::Unauthenticated("Too many failed logins from this address: try again later.");
    }
  }
  return Status::Ok();
}

// A counter that cannot be written must not stop the login answer; it is logged.
void PasswordLogin::CountFailure(const std::string& key, int64_t now, int64_t since) {
  Status s = store_.RecordLoginFailure(key, now, since);
  if (!s.ok()) spdlog::error("cannot count a failed login for {}: {}", key, s.ToString());
}

Result<User> PasswordLogin::Login(const LoginAttempt& a) {
  const int64_t now = clock_.NowMicros();
  const int64_t since = now - limits_.window_seconds * 1000000;
  Result<LoginRecord> record = store_.FindLogin(a.user, a.by_id);
  if (!record.ok() && record.status().code() != Status::Code::kNotFound) return record.status();
  const std::string user_key = UserKey(a, record);
  GLINT_RETURN_IF_ERROR(Refusal(a, user_key, since));
  const bool real = record.ok() && a.known_domain;
  // One derivation on every path: against the user's hash, or the dummy one.
  const bool match = hasher_.Verify(a.password, real ? record->password_hash : hasher_.DummyHash());
  if (real && match && record->user.enabled) {
    if (limits_.user_failures > 0) {
      Status s = store_.ClearLoginFailures(user_key);
      if (!s.ok()) spdlog::error("cannot clear failed logins of {}: {}", user_key, s.ToString());
    }
    return record->user;
  }
  if (limits_.user_failures > 0) CountFailure(user_key, now, since);
  if (limits_.address_failures > 0 && !a.source.empty()) CountFailure("addr:" + a.source, now, since);
  return Status::Unauthenticated(kNotAuthenticated);
}

}  // namespace glint::auth
