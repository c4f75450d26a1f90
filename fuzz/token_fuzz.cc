// Tokens presented in X-Auth-Token to the built-in identity (TokenService::Validate). The
// key is fixed, so seed tokens issued with it stay valid across runs. The first byte
// picks what the rest is: a token as presented, or a payload that the fuzzer seals under
// the key itself, which reaches the payload decoding no forger could (the encryption is
// authenticated). A token that validates must round-trip through Issue.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "auth/identity.h"
#include "common/digest.h"
#include "fuzz/fuzz_support.h"
#include "tests/support/sealed_token.h"

namespace {

using glint::auth::IdentityStore;
using glint::auth::TokenInfo;
using glint::auth::TokenService;

// The token key of the fuzzer's identity store: bytes 0..31 (the store keeps them in hex).
std::string Key() {
  std::string key;
  for (int i = 0; i < 32; ++i) key.push_back(static_cast<char>(i));
  return key;
}
constexpr uint32_t kKeyId = 1;  // the first key a store gets

struct Fixture {
  Fixture() : key(Key()) {
    glint::Status status;
    store = glint::auth::OpenIdentityStore("sqlite:///:memory:", &status);
    FUZZ_CHECK(store && status.ok());
    std::string hex = glint::HexEncode(reinterpret_cast<const unsigned char*>(key.data()), key.size());
    FUZZ_CHECK(store->AddTokenKey(hex, 0).ok());
    tokens = std::make_unique<TokenService>(*store, 3600);
  }
  std::string key;
  std::unique_ptr<IdentityStore> store;
  std::unique_ptr<TokenService> tokens;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fixture;
  if (size == 0) return 0;
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string token = (data[0] & 1) ? glint::testing::SealToken(rest, fixture.key, kKeyId) : rest;
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
