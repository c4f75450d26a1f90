#include "auth/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdexcept>
#include <string_view>

#include "common/digest.h"
#include "common/random.h"

namespace glint::auth {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits "scheme$iterations$salt$hash"; false when the shape is wrong.
bool SplitStored(std::string_view stored, int* iterations, std::string* salt, std::string_view* hash) {
  std::string_view parts[4];
  for (int i = 0; i < 3; ++i) {
    size_t d = stored.find('$');
    if (d == std::string_view::npos) return false;
    parts[i] = stored.substr(0, d);
    stored.remove_prefix(d + 1);
  }
  parts[3] = stored;
  if (parts[0] != "pbkdf2-sha256" || parts[1].empty() || parts[1].size() > 9 || parts[2].size() % 2 != 0) {
    return false;
  }
  int n = 0;
  for (char c : parts[1]) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  if (n <= 0) return false;
  salt->clear();
  for (size_t i = 0; i < parts[2].size(); i += 2) {
    int hi = HexValue(parts[2][i]), lo = HexValue(parts[2][i + 1]);
    if (hi < 0 || lo < 0) return false;
    salt->push_back(static_cast<char>(hi * 16 + lo));
  }
  *iterations = n;
  *hash = parts[3];
  return true;
}

std::string Derive(const std::string& password, const std::string& salt, int iterations) {
  unsigned char out[32];
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iterations,
                    EVP_sha256(), sizeof out, out);
  return HexEncode(out, sizeof out);
}

class Pbkdf2Hasher final : public PasswordHasher {
 public:
  std::string Hash(const std::string& password) override {
    unsigned char salt[16];
    // No weak salt, ever: without randomness the request fails (the handler's boundary).
    if (!SystemRandom().Fill(salt, sizeof salt).ok()) throw std::runtime_error("no randomness for a password salt");
    std::string salt_bytes(reinterpret_cast<const char*>(salt), sizeof salt);
    return "pbkdf2-sha256$" + std::to_string(kPasswordIterations) + "$" + HexEncode(salt, sizeof salt) + "$" +
           Derive(password, salt_bytes, kPasswordIterations);
  }
  bool Verify(const std::string& password, const std::string& stored) override {
    int iterations = 0;
    std::string salt;
    std::string_view hash;
    if (!SplitStored(stored, &iterations, &salt, &hash)) return false;
    std::string computed = Derive(password, salt, iterations);
    return computed.size() == hash.size() && CRYPTO_memcmp(computed.data(), hash.data(), computed.size()) == 0;
  }
  const std::string& DummyHash() override {
    static const std::string dummy = Hash("glint: no such user");  // computed once
    return dummy;
  }
};

}  // namespace

PasswordHasher& DefaultPasswordHasher() {
  static Pbkdf2Hasher hasher;
  return hasher;
}

std::string HashPassword(const std::string& password) { return DefaultPasswordHasher().Hash(password); }

bool VerifyPassword(const std::string& password, const std::string& stored) {
  return DefaultPasswordHasher().Verify(password, stored);
}

}  // namespace glint::auth
