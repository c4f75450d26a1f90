// Tokens presented in X-Auth-Token to the built-in identity (TokenService::Validate). The
// key is fixed, so seed tokens issued with it stay valid across runs. The first byte
// picks what the rest is: a token as presented, or a payload that the fuzzer seals under
// the key itself, which reaches the payload decoding no forger could (the encryption is
// authenticated). A token that validates must round-trip through Issue.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "auth/identity.h"
#include "common/digest.h"
#include "fuzz/fuzz_support.h"

namespace {

using glint::auth::IdentityStore;
using glint::auth::TokenInfo;
using glint::auth::TokenService;

// The token key in the fuzzer's identity store: 32 bytes, as the store keeps them, in hex.
const std::string kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr int64_t kKeyId = 1;

struct Fixture {
  Fixture() {
    glint::Status status;
    store = glint::auth::OpenIdentityStore("sqlite:///:memory:", &status);
    FUZZ_CHECK(store && status.ok());
    FUZZ_CHECK(store->AddTokenKey(kKeyHex, 0).ok());
    tokens = std::make_unique<TokenService>(*store, 3600);
  }
  std::unique_ptr<IdentityStore> store;
  std::unique_ptr<TokenService> tokens;
};

std::string Base64Url(const std::string& raw) {
  std::string s = glint::Base64Encode(raw);
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

// "gl1" + base64url(key id (4 bytes, big-endian) | nonce (12) | AES-256-GCM(payload) | tag (16)),
// the key id being the additional authenticated data: the layout TokenService issues.
std::string Seal(const std::string& payload) {
  std::string key;
  for (size_t i = 0; i < kKeyHex.size(); i += 2) key.push_back(static_cast<char>(std::stoi(kKeyHex.substr(i, 2), nullptr, 16)));
  std::string header(4, '\0');
  header[3] = static_cast<char>(kKeyId);
  const std::string nonce(12, '\x07');
  std::string cipher(payload.size(), '\0');
  unsigned char tag[16];
  int len = 0;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  bool ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                               reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
            EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(header.data()), 4) == 1 &&
            EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(cipher.data()), &len,
                              reinterpret_cast<const unsigned char*>(payload.data()), static_cast<int>(payload.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx, nullptr, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, sizeof tag, tag) == 1;
  EVP_CIPHER_CTX_free(ctx);
  FUZZ_CHECK(ok);
  return "gl1" + Base64Url(header + nonce + cipher + std::string(reinterpret_cast<char*>(tag), sizeof tag));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fixture;
  if (size == 0) return 0;
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string token = (data[0] & 1) ? Seal(rest) : rest;
  auto info = fixture.tokens->Validate(token);
  if (!info.ok()) return 0;
  auto again = fixture.tokens->Issue(*info);
  FUZZ_CHECK(again.ok());
  auto back = fixture.tokens->Validate(*again);
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(back->user_id == info->user_id && back->project_id == info->project_id &&
             back->expires_at == info->expires_at && back->audit_id == info->audit_id &&
             back->methods == info->methods);
  return 0;
}
