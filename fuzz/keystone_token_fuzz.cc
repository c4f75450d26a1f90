// A Keystone token body (GET /v3/auth/tokens): what the Keystone authenticator and glint-fs
// believe about a token's holder comes from here.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>

#include "client/keystone_client.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  auto info = glint::client::ParseTokenBody(body);
  if (!info.ok()) return 0;
  // Role names are compared lowercased by the policy engine.
  for (const auto& role : info->roles) {
    for (unsigned char c : role) FUZZ_CHECK(!std::isupper(c));
  }
  return 0;
}
