// Seals a token payload the way TokenService::Issue does, under a key the test chose, so
// tests and the token fuzz target can present payloads Issue would never write:
//   "gl1" + base64url(key id (4 bytes, big-endian) | nonce (12) | AES-256-GCM(payload) | tag (16)),
// the key id being the additional authenticated data.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <string>

#include "common/digest.h"

namespace glint::testing {

// `key` is the 32 raw key bytes (the identity store keeps them in hex).
inline std::string SealToken(const std::string& payload, const std::string& key, uint32_t key_id) {
  std::string header(4, '\0');
  for (int i = 0; i < 4; ++i) header[i] = static_cast<char>((key_id >> (24 - 8 * i)) & 0xff);
  const std::string nonce(12, '\x07');
  std::string cipher(payload.size(), '\0');
  unsigned char tag[16] = {0};
  int len = 0;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  bool ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                               reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
            EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(header.data()), 4) == 1 &&
            EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(cipher.data()), &len,
                              reinterpret_cast<const unsigned char*>(payload.data()),
                              static_cast<int>(payload.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx, nullptr, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, sizeof tag, tag) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return "";
  std::string b64 = Base64Encode(header + nonce + cipher + std::string(reinterpret_cast<char*>(tag), sizeof tag));
  for (char& c : b64) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "gl1" + b64;
}

}  // namespace glint::testing
