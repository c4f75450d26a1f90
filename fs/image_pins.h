// ImagePins: images pinned in the host cache (`setfattr -n user.glint.pin -v 1 FILE`).
// A pinned image is fetched whole in the background and its chunks are never evicted.
// Each pin is kept as <cache dir>/meta/<id>.pin holding the image's record, so after a
// restart the pins hold, unfinished fetches resume, and the mount can list pinned images
// while the API is down (they read from the cache with the store down too).
//
// Pin/Unpin come from the FUSE setxattr op (libfuse worker threads); one background
// thread fetches. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fs/host_cache.h"
#include "fs/image_view.h"

namespace glint::fs {

class ImagePins {
 public:
  // Loads the kept pins (and marks their chunks unevictable); fetching starts with Start().
  explicit ImagePins(HostCache& cache);
  ~ImagePins();
  void Start();
  void Stop();

  // 0 or an errno: ENOSPC when the pinned images would not fit in the cache, ENOTSUP when
  // the image cannot be cached (no manifest, and unverified caching is not allowed).
  int Pin(const ImageEntry& image);
  void Unpin(const std::string& id);
  bool Pinned(const std::string& id);
  // The kept records of the pinned images (for the tree while the API is down).
  std::vector<ImageEntry> PinnedImages();
  // Pinned images whose chunks are not all cached yet.
  size_t Pending();

 private:
  void Run();
  // Fetches the chunks of `image` the cache lacks; false when it should be tried again.
  bool FetchAll(const ImageEntry& image);

  HostCache& cache_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, ImageEntry> pinned_;
  std::deque<std::string> queue_;  // pinned ids to fetch
  bool stop_ = false;
  std::thread thread_;
};

// An image record as JSON and back (the .pin files); nullopt when malformed.
std::string ImageEntryToJson(const ImageEntry& image);
std::optional<ImageEntry> ImageEntryFromJson(const std::string& json);

}  // namespace glint::fs
