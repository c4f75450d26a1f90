// A chunk manifest as glint-fs receives it from the API (fs/image_manifest.h), checked
// against the image it is for before any chunk is verified with it. The first two bytes
// choose the image's size (0 to 65,535 bytes, chunks of 4 KiB here, so a few digests
// make a complete manifest); the rest is the manifest's JSON.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fs/image_manifest.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  constexpr uint64_t kChunk = 4096;
  glint::fs::ImageEntry image;
  image.id = "0b8a2f4e-6c1d-4f3a-9e7b-5d2c8a1f0e93";
  image.status = "active";
  image.size = int64_t{data[0]} << 8 | data[1];
  image.fields = {{"os_hash_algo", "sha512"}, {"os_hash_value", "c0ffee"}};
  std::string text(reinterpret_cast<const char*>(data) + 2, size - 2);
  auto m = glint::fs::ParseManifest(text, image, kChunk);
  if (!m.ok()) return 0;
  // Accepted: it is this image's, complete, and bound; written back and read again, the same.
  FUZZ_CHECK(m->image_id == image.id && m->size == image.size && m->chunk_size == kChunk);
  FUZZ_CHECK(m->chunks.size() == (static_cast<uint64_t>(image.size) + kChunk - 1) / kChunk);
  for (const auto& c : m->chunks) FUZZ_CHECK(c.size() == 64);
  auto again = glint::fs::ParseManifest(glint::fs::ManifestToJson(*m), image, kChunk);
  FUZZ_CHECK(again.ok() && again->chunks == m->chunks && again->binding == m->binding);
  return 0;
}
