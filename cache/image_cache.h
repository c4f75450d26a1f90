// ImageCache: glint-api's image cache (Glance's image cache on API nodes), built on the
// same ChunkCache as glint-fs's host cache. An API node keeps the images it served or was
// asked to prefetch on local disk, within image_cache_max_size (least recently used chunks
// go first), and serves repeated downloads, Range requests included, from there; every
// chunk entering the cache is checked against the image's chunk manifest.
//
// It adds what Glance's cache API shows on top of the chunks: per image a record (size,
// hits, last access, when it became complete), kept in the cache directory's meta/ files
// (written whole or not at all), and the queue of images waiting to be prefetched, worked
// off by one background thread (a queued image waits `prefetch_delay` seconds, then is
// fetched whole by the Prefetch function the API gives it). An image counts as cached when
// all of its chunks are on disk. Each API node has its own cache and its own queue.
//
// Thread-safe: called from the API's worker threads; the prefetch thread is its own.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cache/chunk_cache.h"
#include "cache/chunked_reader.h"
#include "common/clock.h"
#include "common/status.h"

namespace glint::cache {

struct ImageCacheOptions {
  std::string dir;
  uint64_t max_size = uint64_t{10} << 30;  // bytes of chunk data (Glance's image_cache_max_size)
  double prefetch_delay = 1;               // seconds a queued image waits for its prefetch
};

// What Glance's GET /v2/cache lists for a cached image (times in seconds since the epoch).
struct CachedImage {
  std::string image_id;
  int64_t size = 0;
  uint64_t hits = 0;
  double last_accessed = 0;
  double last_modified = 0;
};

// An image as the cache needs it: id, size and one SHA-256 per chunk (its manifest).
struct ImageChunks {
  std::string image_id;
  int64_t size = 0;
  std::vector<std::string> digests;
};

// Fetches one queued image whole into the cache (the API's prefetcher).
using Prefetch = std::function<Status(const std::string& image_id)>;

class ImageCache {
 public:
  static Result<std::unique_ptr<ImageCache>> Open(const ImageCacheOptions& options, const Clock& clock = SystemClock());
  ~ImageCache();

  // Starts the prefetch thread (queued images, also those queued before a restart).
  void StartPrefetcher(Prefetch prefetch);
  // Stops it, waiting for a prefetch in progress.
  void StopPrefetcher();

  // A reader of `image` through the cache. Opening it counts as a hit when the image is
  // cached whole.
  std::unique_ptr<ChunkedReader> Reader(const ImageChunks& image, OpenStore open_store);

  std::vector<CachedImage> Cached();   // by image id
  std::vector<std::string> Queued();   // in queueing order
  bool IsCached(const std::string& image_id);
  bool IsQueued(const std::string& image_id);
  // Queues an image for prefetching; false when it is cached or queued already.
  bool Queue(const std::string& image_id);
  // Each returns whether there was something to remove.
  bool DeleteCached(const std::string& image_id);
  bool DeleteQueued(const std::string& image_id);
  // Everything cached (complete or not) / queued; how many images went.
  size_t DeleteAllCached();
  size_t DeleteAllQueued();

  uint64_t max_size() const { return chunks_->capacity(); }
  ChunkCache& chunks() { return *chunks_; }

 private:
  struct Record {
    int64_t size = 0;
    int64_t chunk_count = 0;
    uint64_t hits = 0;
    int64_t last_accessed = 0;  // microseconds
    int64_t last_modified = 0;  // when it became complete; 0 while it is not
  };
  struct QueueEntry {
    std::string image_id;
    int64_t queued_at = 0;
  };

  ImageCache(std::unique_ptr<ChunkCache> chunks, const ImageCacheOptions& options, const Clock& clock);
  void Load();
  // mu_ held: the record's completeness from `chunks` on disk (completing it if so).
  bool CheckComplete(const std::string& image_id, Record& rec, size_t chunks_on_disk);
  void OnChunk(const std::string& image_id, int64_t index, bool fetched);
  void SaveRecord(const std::string& image_id, const Record& rec);  // mu_ held
  void SaveQueue();                                                  // mu_ held
  bool RemoveQueuedLocked(const std::string& image_id);              // mu_ held
  bool QueuedLocked(const std::string& image_id) const;              // mu_ held
  void PrefetchLoop();

  std::unique_ptr<ChunkCache> chunks_;
  const Clock& clock_;
  const int64_t prefetch_delay_;  // microseconds
  std::mutex mu_;
  std::map<std::string, Record> records_;
  std::vector<QueueEntry> queue_;
  Prefetch prefetch_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread prefetcher_;
};

}  // namespace glint::cache
