#include "common/digest.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace glint {

void Digest::CtxFree::operator()(evp_md_ctx_st* c) const { EVP_MD_CTX_free(c); }

Digest::Digest(Algorithm algorithm) : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) throw std::runtime_error("EVP_MD_CTX_new failed");
  const EVP_MD* md = algorithm == Algorithm::kMd5      ? EVP_md5()
                     : algorithm == Algorithm::kSha512 ? EVP_sha512()
                                                       : EVP_sha256();
  if (EVP_DigestInit_ex(ctx_.get(), md, nullptr) != 1) {
    throw std::runtime_error("EVP_DigestInit_ex failed");
  }
}
Digest::~Digest() = default;
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;

void Digest::Update(const void* data, size_t len) { EVP_DigestUpdate(ctx_.get(), data, len); }

std::string Digest::FinishHex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), out, &len);
  return HexEncode(out, len);
}

std::string HexEncode(const unsigned char* data, size_t len) {
  static const char kHex[] = "0123456789abcdef";
  std::string s(len * 2, '0');
  for (size_t i = 0; i < len; ++i) {
    s[2 * i] = kHex[data[i] >> 4];
    s[2 * i + 1] = kHex[data[i] & 0xf];
  }
  return s;
}

std::string Base64Encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace glint
