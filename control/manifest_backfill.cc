#include "control/manifest_backfill.h"

#include <spdlog/spdlog.h>

#include <memory>

#include "common/aligned_buffer.h"
#include "common/digest.h"

namespace glint::control {
namespace {

constexpr size_t kReadSize = 4 << 20;

std::optional<Digest::Algorithm> AlgorithmNamed(const std::string& name) {
  if (name == "sha512") return Digest::Algorithm::kSha512;
  if (name == "sha256") return Digest::Algorithm::kSha256;
  if (name == "md5") return Digest::Algorithm::kMd5;
  return std::nullopt;
}

}  // namespace

Status ManifestBackfill::Backfill(const catalog::ImageRecord& img) {
  if (!img.size || !img.os_hash_algo || !img.os_hash_value) {
    return Status::InvalidArgument("image " + img.id + " has no size or os_hash to bind a manifest to");
  }
  auto algo = AlgorithmNamed(*img.os_hash_algo);
  if (!algo) return Status::InvalidArgument("image " + img.id + ": os_hash_algo " + *img.os_hash_algo + " is not supported");
  std::unique_ptr<store::Reader> reader;
  for (const auto& l : img.locations) {
    store::Backend* b = stores_.Owner(l.url);
    if (!b) continue;
    auto r = b->Open(l.url);
    if (r.ok()) {
      reader = std::move(r).value();
      break;
    }
  }
  if (!reader) return Status::NotFound("no readable location of image " + img.id);
  Digest os_hash(*algo), md5(Digest::Algorithm::kMd5);
  ChunkManifestBuilder builder;
  AlignedBuffer buf = NewAlignedBuffer(kReadSize);
  for (int64_t off = 0;;) {
    auto n = reader->ReadAt(off, buf.get(), kReadSize);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    os_hash.Update(buf.get(), *n);
    md5.Update(buf.get(), *n);
    builder.Update(buf.get(), *n);
    off += static_cast<int64_t>(*n);
  }
  if (builder.size() != *img.size || os_hash.FinishHex() != *img.os_hash_value ||
      (img.checksum && md5.FinishHex() != *img.checksum)) {
    return Status::Corruption("the data of image " + img.id + " does not match its size, checksum or os_hash");
  }
  return catalog_.AddManifest(builder.Finish(img.id, *img.os_hash_algo, *img.os_hash_value));
}

Status ManifestBackfill::RunPass(int limit, int* done) {
  *done = 0;
  auto images = catalog_.ImagesWithoutManifest(limit);
  if (!images.ok()) return images.status();
  for (const auto& img : *images) {
    Status s = Backfill(img);
    if (s.ok()) {
      ++*done;
    } else if (s.code() != Status::Code::kConflict) {  // Conflict: another node was first
      spdlog::warn("image {}: no chunk manifest yet: {}", img.id, s.ToString());
    }
  }
  return Status::Ok();
}

void AdoptCopyManifest(catalog::Catalog& catalog, const catalog::ImageRecord& img,
                       std::optional<ChunkManifest> manifest) {
  if (!manifest || !img.os_hash_algo || !img.os_hash_value || !img.size || manifest->size != *img.size) return;
  manifest->os_hash_algo = *img.os_hash_algo;
  manifest->os_hash_value = *img.os_hash_value;
  manifest->binding = ManifestBinding(*manifest);
  Status s = catalog.AddManifest(*manifest);
  if (!s.ok() && s.code() != Status::Code::kConflict) {
    spdlog::warn("image {}: chunk manifest from the copy not stored: {}", img.id, s.ToString());
  }
}

}  // namespace glint::control
