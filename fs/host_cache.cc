#include "fs/host_cache.h"

#include <spdlog/spdlog.h>

#include "common/ids.h"

namespace glint::fs {
namespace {
const std::string kChunksXattr = "user.glint.cache.chunks";
const std::string kFetchesXattr = "user.glint.cache.fetches";
const std::string kVerifiedXattr = "user.glint.cache.verified";
const std::string kWholeXattr = "user.glint.cache.whole";

std::string ManifestFile(const std::string& id) { return id + ".manifest"; }
}  // namespace

HostCache::HostCache(DataSource& inner, std::unique_ptr<cache::ChunkCache> cache, ManifestSource manifests,
                     HostCacheOptions options, const Clock& clock, BootSetRemote boot_remote)
    : inner_(inner),
      cache_(std::move(cache)),
      manifests_(std::move(manifests)),
      options_(options),
      keep_whole_(options.keep_whole) {
  if (options_.boot_prefetch) boot_ = std::make_unique<BootSets>(*cache_, options_.boot, clock, std::move(boot_remote));
  whole_ = std::make_unique<WholeFiles>(*cache_);
}

int64_t HostCache::ChunkCount(int64_t size) const {
  const auto cs = static_cast<int64_t>(cache_->chunk_size());
  return size <= 0 ? 0 : (size + cs - 1) / cs;
}

void HostCache::Settle(const std::string& image_id, int64_t size) {
  if (keep_whole_) whole_->Settle(image_id, ChunkCount(size));
}

std::optional<std::string> HostCache::WholeFile(const ImageEntry& image) {
  if (!IsUuid(image.id) || !Cacheable(image)) return std::nullopt;
  auto file = cache_->ImageFile(image.id, ChunkCount(image.size));
  if (file) cache_->Touch(image.id);  // its reads will not pass by the cache's LRU
  return file;
}

std::shared_ptr<const ImageManifest> HostCache::Remember(const ImageEntry& image, std::optional<ImageManifest> m) {
  std::shared_ptr<const ImageManifest> shared;
  if (m) shared = std::make_shared<const ImageManifest>(std::move(*m));
  auto hash = image.fields.find("os_hash_value");
  std::lock_guard<std::mutex> l(mu_);
  known_[image.id] = Known{hash == image.fields.end() ? "" : hash->second, shared, std::chrono::steady_clock::now()};
  return shared;
}

Result<std::shared_ptr<const ImageManifest>> HostCache::ManifestFor(const ImageEntry& image) {
  auto hash = image.fields.find("os_hash_value");
  const std::string os_hash = hash == image.fields.end() ? "" : hash->second;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = known_.find(image.id);
    if (it != known_.end() && it->second.os_hash_value == os_hash &&
        (it->second.manifest || std::chrono::steady_clock::now() - it->second.at <
                                    std::chrono::duration<double>(options_.negative_seconds))) {
      return it->second.manifest;
    }
  }
  // Kept from an earlier fetch (immutable, and checked against the image again).
  if (auto kept = cache_->GetMeta(ManifestFile(image.id))) {
    auto m = ParseManifest(*kept, image, cache_->chunk_size());
    if (m.ok()) return Remember(image, std::move(m).value());
    cache_->RemoveMeta(ManifestFile(image.id));
  }
  auto fetched = manifests_(image.id);
  if (!fetched.ok()) return fetched.status();
  if (!fetched->has_value()) return Remember(image, std::nullopt);
  auto m = ParseManifest(**fetched, image, cache_->chunk_size());
  if (!m.ok()) return m.status();
  Status kept = cache_->PutMeta(ManifestFile(image.id), ManifestToJson(*m));
  if (!kept.ok()) spdlog::warn("cache: cannot keep the manifest of {}: {}", image.id, kept.ToString());
  return Remember(image, std::move(m).value());
}

Result<std::unique_ptr<store::Reader>> HostCache::Open(const ImageEntry& image, bool learn) {
  if (!IsUuid(image.id) || image.size <= 0) return inner_.Open(image);
  auto manifest = ManifestFor(image);
  if (!manifest.ok()) {
    // A manifest that does not fit the image is never used; an API that cannot be asked
    // leaves the image unverified, which only --cache-unverified accepts.
    spdlog::error("cache: {}; reading {} {}", manifest.status().ToString(), image.id,
                  options_.allow_unverified ? "unverified" : "uncached");
    if (manifest.status().code() == Status::Code::kInvalidArgument || !options_.allow_unverified) {
      return inner_.Open(image);
    }
  }
  std::shared_ptr<const ImageManifest> verified = manifest.ok() ? *manifest : nullptr;
  if (!verified && !options_.allow_unverified) return inner_.Open(image);
  auto base = inner_.OpenForChunks(image);
  std::unique_ptr<store::Reader> opened;
  if (base.ok()) {
    opened = std::move(base).value();
  } else if (cache_->CachedChunks(image.id) == 0) {
    return base.status();
  }  // else: the store is down but chunks are here; missing ones fail as they are read
  OpenBase open_base = [this, image] { return inner_.OpenForChunks(image); };
  auto reader = std::make_unique<CachedReader>(image, verified, *cache_, open_base, std::move(opened));
  Settle(image.id, image.size);  // whole but not (or not yet since a restart) kept whole
  if (boot_ && learn) {
    reader->SetRecorder(boot_->StartRecording(image.id));
    // A reader of its own (its own store connection), so prefetches outlive this open if
    // they must: the learned boot sets (local and the API's merged one) now, and the next
    // chunks of a sequential reader's misses.
    auto ahead = std::make_shared<CachedReader>(image, verified, *cache_, open_base, nullptr);
    boot_->PrefetchLearned(image.id, ahead->chunk_count(), [ahead](int64_t index) { (void)ahead->Chunk(index); });
    reader->SetAhead([boot = boot_.get(), ahead, id = image.id](int64_t index) {
      boot->Prefetch(id, {index}, [ahead](int64_t i) { (void)ahead->Chunk(i); });
    });
    if (options_.fill_whole) FillWhole(image, ahead);
  }
  return std::unique_ptr<store::Reader>(std::move(reader));
}

void HostCache::FillWhole(const ImageEntry& image, const std::shared_ptr<CachedReader>& ahead) {
  const int64_t chunks = ChunkCount(image.size);
  if (static_cast<uint64_t>(chunks) * cache_->chunk_size() > cache_->capacity() / 2) return;  // it would evict too much
  std::vector<int64_t> missing;
  for (int64_t i = 0; i < chunks; ++i) {
    if (!cache_->Contains({image.id, i})) missing.push_back(i);
  }
  if (missing.empty()) return;
  boot_->Prefetch(image.id, missing, [this, ahead, id = image.id, size = image.size](int64_t i) {
    if (ahead->Chunk(i).ok()) Settle(id, size);  // the last one in makes it whole
  });
}

void HostCache::DrainPrefetches() {
  if (boot_) boot_->Drain();
  whole_->Drain();
}

void HostCache::SendPendingReports(double seconds) {
  if (boot_) boot_->SendPendingReports(seconds);
}

bool HostCache::Cacheable(const ImageEntry& image) {
  if (!IsUuid(image.id) || image.size <= 0) return false;
  auto manifest = ManifestFor(image);
  if (manifest.ok() && *manifest) return true;
  return options_.allow_unverified && (manifest.ok() || manifest.status().code() != Status::Code::kInvalidArgument);
}

std::optional<std::string> HostCache::Xattr(const ImageEntry& image, const std::string& name) {
  const int64_t chunks = ChunkCount(image.size);
  if (name == kChunksXattr) return std::to_string(cache_->CachedChunks(image.id)) + "/" + std::to_string(chunks);
  if (name == kFetchesXattr) return std::to_string(cache_->FetchesOf(image.id));
  if (name == kWholeXattr) return cache_->ImageFile(image.id, chunks) ? "1" : "0";
  if (name == kVerifiedXattr) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = known_.find(image.id);
    return it != known_.end() && it->second.manifest ? "1" : "0";
  }
  return std::nullopt;
}

std::string HostCache::XattrNames() {
  std::string list;
  for (const auto& n : {kChunksXattr, kFetchesXattr, kVerifiedXattr, kWholeXattr}) {
    list += n;
    list.push_back('\0');
  }
  return list;
}

}  // namespace glint::fs
