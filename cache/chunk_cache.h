// ChunkCache: the host's on-disk cache of image data, in fixed chunks (4 MiB) keyed by
// (image id, chunk index), under --cache-dir and within --cache-size bytes, evicting the
// least recently used chunk first (chunks of pinned images are never evicted).
//
// On disk: <dir>/chunks/<image id>/<index>.<sha256 of the chunk>. A chunk is written to
// <dir>/tmp/, fsynced and renamed into place (then the directory is fsynced), so a crash
// leaves either the whole chunk or none; tmp/ is emptied on start. The index is rebuilt
// from the directory on start; every chunk found there is checked once against the digest
// in its name on its first use (a damaged file is discarded and fetched again), then
// trusted. The directory is the mounting user's alone (0700, files 0600): a cache directory
// owned by anybody else is refused, and one lock file keeps a second process (glint-fs or
// glint-api) out.
//
// Whole-image files: once every chunk of an image is on disk and verified, AssembleImage
// moves them into one file, <dir>/images/<id> (chunk i at offset i x chunk size), with the
// chunk digests beside it in <id>.sha256 (written first; the image file is renamed into
// place last, so a crash leaves the chunk files or the whole file). glint-fs hands such a
// file to the kernel (FUSE passthrough). Its chunks stay entries of their own (looked up,
// verified once after a restart, counted) but are evicted together: evicting one removes the
// image's file. A damaged one goes alone, and is written back in place once fetched again.
//
// Single-flight: any number of concurrent readers of one missing chunk cause one fetch;
// the others wait for it. Thread-safe: called from libfuse worker threads and the pinning
// thread; in glint-api from worker threads and the prefetch thread.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace glint::cache {

inline constexpr size_t kChunkSize = 4 << 20;

struct ChunkCacheOptions {
  std::string dir;
  uint64_t capacity = uint64_t{10} << 30;  // bytes of chunk data on disk
  size_t chunk_size = kChunkSize;
};

struct ChunkKey {
  std::string image_id;
  int64_t index = 0;
  bool operator<(const ChunkKey& o) const {
    return image_id != o.image_id ? image_id < o.image_id : index < o.index;
  }
};

// One chunk's bytes as a reader gets them: an open cache file (fd >= 0; it stays readable
// even if the chunk is evicted meanwhile) or, when the cache cannot keep the chunk (full of
// pinned data), the bytes themselves.
struct ChunkData {
  ChunkData() = default;
  ChunkData(const ChunkData&) = delete;
  ChunkData& operator=(const ChunkData&) = delete;
  ~ChunkData();
  int fd = -1;
  uint64_t offset = 0;  // where the chunk starts in fd's file (a whole-image file)
  std::vector<char> bytes;
  size_t size = 0;
};
using ChunkRef = std::shared_ptr<const ChunkData>;

// Reads one whole chunk from the data source (one store round trip).
using ChunkFetch = std::function<Result<std::vector<char>>()>;

struct CacheStats {
  uint64_t bytes = 0;            // chunk data on disk
  uint64_t chunks = 0;           // chunks on disk
  uint64_t hits = 0;             // Gets answered from disk
  uint64_t fetches = 0;          // fetches from the data source
  uint64_t verify_failures = 0;  // fetched chunks that did not match, damaged files found
  uint64_t evictions = 0;
};

// Lowercase hex SHA-256 of `len` bytes.
std::string Sha256Hex(const char* data, size_t len);

class ChunkCache {
 public:
  // Creates or reopens the cache at options.dir.
  static Result<std::unique_ptr<ChunkCache>> Open(const ChunkCacheOptions& options);
  ~ChunkCache();

  // The chunk `key`, from disk or fetched (once, whoever else asks meanwhile). `expected`
  // is its SHA-256 from the image's manifest, or "" to cache without verification. A
  // fetched chunk that does not match is fetched once more; a second mismatch is
  // Corruption and nothing is cached.
  Result<ChunkRef> Get(const ChunkKey& key, const std::string& expected, const ChunkFetch& fetch);

  bool Contains(const ChunkKey& key);
  size_t CachedChunks(const std::string& image_id);
  // Every image with chunks on disk, and how many.
  std::map<std::string, size_t> ChunksByImage();
  // Removes every chunk of `image_id` (open ChunkRefs stay readable); how many went. A
  // fetch in flight for the image may still store its chunk afterwards.
  size_t RemoveImage(const std::string& image_id);
  uint64_t FetchesOf(const std::string& image_id);
  // Pinned images' chunks are never evicted.
  void SetPinned(const std::string& image_id, bool pinned);
  bool Pinned(const std::string& image_id);
  CacheStats Stats();
  // Small files kept next to the chunks in <dir>/meta/ (manifests, pinned images' records),
  // written whole or not at all. `name` is a plain file name.
  Status PutMeta(const std::string& name, const std::string& data);
  std::optional<std::string> GetMeta(const std::string& name);
  std::vector<std::string> MetaNames();
  void RemoveMeta(const std::string& name);
  // Moves the chunks 0..count-1 of `image_id`, all on disk and verified, into its whole-image
  // file (into the existing file, at their places, for chunks fetched again after damage).
  // Ok when done or already done; Conflict when a chunk is missing or not yet verified in
  // this process, or the chunks changed meanwhile.
  Status AssembleImage(const std::string& image_id, int64_t count);
  // Checks every cached chunk of `image_id` not yet checked in this process (after a
  // restart); a damaged one is removed (with its whole-image file), to be fetched again.
  Status VerifyImage(const std::string& image_id);
  // The whole-image file of `image_id` when it holds all `count` chunks and every one has
  // been verified in this process; nullopt otherwise.
  std::optional<std::string> ImageFile(const std::string& image_id, int64_t count);
  // Marks every chunk of `image_id` used now (reads through a passthrough file bypass Get).
  void Touch(const std::string& image_id);
  size_t chunk_size() const { return options_.chunk_size; }
  uint64_t capacity() const { return options_.capacity; }
  const std::string& dir() const { return options_.dir; }

 private:
  struct Entry {
    std::string digest;
    uint64_t size = 0;
    bool verified = false;  // checked against its digest since this process started
    bool in_file = false;   // in the image's whole-image file, not a chunk file
    std::list<ChunkKey>::iterator lru;
  };
  struct Found {  // an entry found on disk at start, with its file's mtime
    int64_t mtime;
    ChunkKey key;
  };
  struct Flight;

  explicit ChunkCache(ChunkCacheOptions options, int lock_fd);
  Status Load();
  // image_files.cc: the entries of the whole-image files under images/ (found first, so a
  // chunk file left behind by an assembly cut short yields to its image's file).
  void LoadImageFiles(std::vector<Found>& found);
  std::string ChunkPath(const ChunkKey& key, const std::string& digest) const;
  std::string ImagePath(const std::string& image_id) const;
  // Where an entry's bytes are: its chunk file at 0, or its image's file at index x chunk size.
  std::string EntryPath(const ChunkKey& key, const Entry& e) const;
  uint64_t EntryOffset(const ChunkKey& key, const Entry& e) const;
  // Under a Flight (no lock held): a chunk already on disk, checked once; nullptr if absent
  // or damaged (then removed).
  ChunkRef FromDisk(const ChunkKey& key, const std::string& expected);
  Result<ChunkRef> Fetch(const ChunkKey& key, const std::string& expected, const ChunkFetch& fetch);
  Result<ChunkRef> Store(const ChunkKey& key, const std::string& digest, std::vector<char> bytes);
  // mu_ held: frees room for `bytes` more; false if pinned chunks leave none.
  bool MakeRoom(uint64_t bytes, const ChunkKey& keep);
  // mu_ held: removes the entry; an entry in a whole-image file takes the file and every
  // entry in it along. Returns how many entries went.
  size_t RemoveLocked(const ChunkKey& key);
  size_t RemoveImageFileLocked(const std::string& image_id);  // mu_ held
  // mu_ held: a damaged chunk of a whole-image file: only its entry goes (the file with the last).
  size_t RemoveFromImageFileLocked(const ChunkKey& key);
  std::string TempPath();

  const ChunkCacheOptions options_;
  const int lock_fd_;
  std::mutex mu_;
  std::map<ChunkKey, Entry> entries_;
  std::list<ChunkKey> lru_;  // most recently used first
  std::map<ChunkKey, std::shared_ptr<Flight>> flights_;
  std::set<std::string> pinned_;
  std::map<std::string, uint64_t> fetches_by_image_;
  CacheStats stats_;
  uint64_t tmp_counter_ = 0;
};

// Parses "10G", "512M", "4096K", "123" (bytes; binary units); nullopt when malformed.
std::optional<uint64_t> ParseByteSize(const std::string& text);

}  // namespace glint::cache
