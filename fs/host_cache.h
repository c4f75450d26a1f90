// HostCache: glint-fs's data path through the host cache (--cache-dir). A DataSource that
// wraps the real ones (file store, rbd, http): an image with a manifest is read through the
// ChunkCache with every chunk verified as it enters; an image without one (the API
// answers 404) is cached unverified only with --cache-unverified, otherwise read straight
// from the store as without a cache. Manifests are kept in the cache directory, so cached
// images keep verifying (and reading) while the API is down.
//
// Also the cache's face on the mount: the `user.glint.cache.*` attributes of image files.
// Called from libfuse worker threads; thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "fs/boot_prefetch.h"
#include "fs/cached_reader.h"
#include "cache/chunk_cache.h"
#include "fs/data_source.h"
#include "fs/image_manifest.h"
#include "fs/whole_files.h"

namespace glint::fs {

struct HostCacheOptions {
  bool allow_unverified = false;  // cache images that have no manifest, unverified
  double negative_seconds = 60;   // how long "this image has no manifest" is believed
  bool boot_prefetch = true;      // learn each image's boot set and prefetch it on open
  bool keep_whole = true;         // keep fully cached images as whole-image files (for passthrough)
  // Fetch the rest of an image a reader opened, in the background on the prefetch threads
  // (after its boot sets), so that it becomes whole; only images up to half the cache.
  bool fill_whole = false;
  BootOptions boot;
};

class HostCache final : public DataSource {
 public:
  HostCache(DataSource& inner, std::unique_ptr<cache::ChunkCache> cache, ManifestSource manifests,
            HostCacheOptions options, const Clock& clock = SystemClock(), BootSetRemote boot_remote = {});

  Result<std::unique_ptr<store::Reader>> Open(const ImageEntry& image) override { return Open(image, true); }
  // `learn`: the open is a reader's (its first reads teach the boot set, and the learned
  // set is prefetched), not the pinning thread's.
  Result<std::unique_ptr<store::Reader>> Open(const ImageEntry& image, bool learn);
  std::optional<int64_t> DataTime(const ImageEntry& image) override { return inner_.DataTime(image); }

  // Whether Open would read `image` through the cache (it has a manifest, or unverified
  // caching is allowed).
  bool Cacheable(const ImageEntry& image);
  // `user.glint.cache.chunks` ("<cached>/<total>"), `.fetches` (store reads of its chunks
  // since glint-fs started), `.verified` (1 when its chunks are checked against a manifest),
  // `.whole` (1 when it is kept as one verified file, which opens read by passthrough).
  std::optional<std::string> Xattr(const ImageEntry& image, const std::string& name);
  static std::string XattrNames();
  cache::ChunkCache& cache() { return *cache_; }
  // Waits for queued boot prefetches and whole-image files (tests).
  void DrainPrefetches();
  // A reader closed `image_id` (`size` bytes): if every chunk is cached, it is kept as one
  // whole-image file in the background (then WholeFile has it).
  void Settle(const std::string& image_id, int64_t size);
  // Whole-image files only serve FUSE passthrough: off when the kernel has none.
  void SetKeepWhole(bool keep) { keep_whole_ = keep; }
  // The image's whole local copy, verified, when the cache has one (FUSE passthrough).
  std::optional<std::string> WholeFile(const ImageEntry& image);
  // At a clean shutdown, once the mount's files are closed: the boot set reports still
  // pending, sent within `seconds` (BootSets::SendPendingReports).
  void SendPendingReports(double seconds);

 private:
  struct Known {
    std::string os_hash_value;
    std::shared_ptr<const ImageManifest> manifest;  // null: the image has none
    std::chrono::steady_clock::time_point at;
  };
  // The image's manifest; null when it has none; an error when it cannot be had now.
  Result<std::shared_ptr<const ImageManifest>> ManifestFor(const ImageEntry& image);
  std::shared_ptr<const ImageManifest> Remember(const ImageEntry& image, std::optional<ImageManifest> m);

  DataSource& inner_;
  std::unique_ptr<cache::ChunkCache> cache_;
  ManifestSource manifests_;
  const HostCacheOptions options_;
  std::mutex mu_;
  std::map<std::string, Known> known_;
  int64_t ChunkCount(int64_t size) const;
  // Queues the chunks of `image` the cache lacks on the prefetch threads (fill_whole).
  void FillWhole(const ImageEntry& image, const std::shared_ptr<CachedReader>& ahead);

  std::atomic<bool> keep_whole_;
  std::unique_ptr<WholeFiles> whole_;  // after cache_: its work ends before the cache does
  // Last: its prefetches (which may hand images to whole_) end first.
  std::unique_ptr<BootSets> boot_;
};

}  // namespace glint::fs
