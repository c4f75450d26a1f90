// Streaming message digests (md5 for Glance's `checksum`, sha512 for `os_hash_value`,
// sha256 for chunk manifests).
// One Digest is fed from one thread at a time; the upload pipeline runs the md5 and the
// sha512 of one upload on two different threads so they hash in parallel.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace glint {

class Digest {
 public:
  enum class Algorithm { kMd5, kSha512, kSha256 };
  explicit Digest(Algorithm algorithm);
  ~Digest();
  Digest(Digest&&) noexcept;
  Digest& operator=(Digest&&) noexcept;

  void Update(const void* data, size_t len);
  // Lowercase hex of the digest; the Digest must not be updated afterwards.
  std::string FinishHex();

 private:
  struct CtxFree {
    void operator()(evp_md_ctx_st* c) const;
  };
  std::unique_ptr<evp_md_ctx_st, CtxFree> ctx_;
};

std::string HexEncode(const unsigned char* data, size_t len);
// Standard base64 of raw bytes (used for headers such as Content-MD5 where needed).
std::string Base64Encode(std::string_view raw);

}  // namespace glint
