// Chunk manifests: per-chunk SHA-256 whatever the feeding pattern, and the binding.
#include "common/chunk_manifest.h"

#include <openssl/sha.h>

#include <limits>
#include <random>
#include <string>

#include "tests/support/test_support.h"

namespace glint {
namespace {

std::string Sha256Hex(const std::string& s) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), out);
  return HexEncode(out, sizeof out);
}

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// The chunk digests computed independently: one-shot SHA-256 of each slice.
std::vector<std::string> ExpectedChunks(const std::string& data, size_t chunk) {
  std::vector<std::string> out;
  for (size_t off = 0; off < data.size(); off += chunk) out.push_back(Sha256Hex(data.substr(off, chunk)));
  return out;
}

TEST(ChunkManifest, ChunksMatchWhateverTheBufferSizes) {
  const size_t chunk = 1000;
  for (size_t size : {0u, 1u, 999u, 1000u, 1001u, 5000u, 7777u}) {
    std::string data = RandomBytes(size, static_cast<unsigned>(size));
    std::mt19937 rng(42);
    ChunkManifestBuilder b(chunk);
    size_t off = 0;
    while (off < data.size()) {
      size_t n = std::min<size_t>(data.size() - off, 1 + rng() % 2500);
      b.Update(data.data() + off, n);
      off += n;
    }
    ChunkManifest m = b.Finish("img", "sha512", "abc");
    EXPECT_EQ(m.size, static_cast<int64_t>(size));
    EXPECT_EQ(m.chunk_size, 1000);
    EXPECT_EQ(m.chunks, ExpectedChunks(data, chunk)) << size;
    EXPECT_TRUE(ManifestConsistent(m));
  }
}

TEST(ChunkManifest, DefaultIsFourMiBOfSha256) {
  std::string data = RandomBytes((size_t{4} << 20) + 123, 7);
  ChunkManifestBuilder b;
  b.Update(data.data(), 1 << 20);
  b.Update(data.data() + (1 << 20), data.size() - (1 << 20));
  ChunkManifest m = b.Finish("id", "sha512", "v");
  ASSERT_EQ(m.chunks.size(), 2u);
  EXPECT_EQ(m.algorithm, "sha256");
  EXPECT_EQ(m.chunk_size, int64_t{4} << 20);
  EXPECT_EQ(m.chunks, ExpectedChunks(data, size_t{4} << 20));
}

TEST(ChunkManifest, BindingCoversImageFactsAndEveryChunk) {
  std::string data = RandomBytes(2500, 1);
  ChunkManifestBuilder b(1000);
  b.Update(data.data(), data.size());
  ChunkManifest m = b.Finish("image-1", "sha512", "deadbeef");
  std::string text = "glint-manifest-v1\nimage-1\n2500\nsha512\ndeadbeef\n1000\n";
  for (const auto& c : ExpectedChunks(data, 1000)) text += c + "\n";
  EXPECT_EQ(m.binding, Sha256Hex(text));

  auto changed = [&](auto edit) {
    ChunkManifest other = m;
    edit(other);
    return !ManifestConsistent(other);
  };
  EXPECT_TRUE(changed([](ChunkManifest& o) { o.image_id = "image-2"; }));
  EXPECT_TRUE(changed([](ChunkManifest& o) { o.os_hash_value = "deadbeee"; }));
  EXPECT_TRUE(changed([](ChunkManifest& o) { o.os_hash_algo = "sha256"; }));
  EXPECT_TRUE(changed([](ChunkManifest& o) { o.size = 2400; }));
  EXPECT_TRUE(changed([](ChunkManifest& o) { o.chunks[1][0] = o.chunks[1][0] == 'a' ? 'b' : 'a'; }));
  EXPECT_TRUE(changed([](ChunkManifest& o) { o.chunks.pop_back(); }));
  EXPECT_TRUE(changed([](ChunkManifest& o) { std::swap(o.chunks[0], o.chunks[1]); }));
  // Sizes whose chunk count overflowed the rounding up (UBSan reports that in the
  // sanitizer suite) or that are not sizes at all.
  EXPECT_TRUE(changed([](ChunkManifest& o) { o.size = std::numeric_limits<int64_t>::max(); }));
  EXPECT_TRUE(changed([](ChunkManifest& o) { o.size = -1; }));
  EXPECT_TRUE(changed([](ChunkManifest& o) { o.chunk_size = 0; }));
}

TEST(ChunkManifest, EmptyImageHasNoChunks) {
  ChunkManifest m = ChunkManifestBuilder().Finish("e", "sha512", Sha256Hex(""));
  EXPECT_TRUE(m.chunks.empty());
  EXPECT_EQ(m.size, 0);
  EXPECT_TRUE(ManifestConsistent(m));
}

}  // namespace
}  // namespace glint
