// Password hashes: PBKDF2-HMAC-SHA256 with a random salt, stored as
// "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>". PasswordHasher is the seam through
// which logins run the key derivation, so tests can count how often it runs (an unknown
// user must cost the same as a known one). Thread-safe; called from worker threads.
#pragma once

#include <string>

namespace glint::auth {

inline constexpr int kPasswordIterations = 120000;

class PasswordHasher {
 public:
  virtual ~PasswordHasher() = default;
  virtual std::string Hash(const std::string& password) = 0;
  // False for a wrong password or a stored value that is not a hash of ours.
  virtual bool Verify(const std::string& password, const std::string& stored) = 0;
  // A hash of no one's password, with the iterations real ones have: verifying against it
  // costs what verifying a real user's password costs.
  virtual const std::string& DummyHash() = 0;
};

// The process's PBKDF2 hasher.
PasswordHasher& DefaultPasswordHasher();

std::string HashPassword(const std::string& password);
bool VerifyPassword(const std::string& password, const std::string& stored);

}  // namespace glint::auth
