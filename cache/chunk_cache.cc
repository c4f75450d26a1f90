#include "cache/chunk_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <condition_variable>
#include <cstring>
#include <optional>

#include "cache/cache_files.h"
#include "common/digest.h"
#include "common/ids.h"

namespace glint::cache {

std::string Sha256Hex(const char* data, size_t len) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(data, len, out, &n, EVP_sha256(), nullptr);
  return HexEncode(out, n);
}

ChunkData::~ChunkData() {
  if (fd >= 0) ::close(fd);
}

struct ChunkCache::Flight {
  std::condition_variable cv;
  bool done = false;
  std::optional<Result<ChunkRef>> result;
};

Result<std::unique_ptr<ChunkCache>> ChunkCache::Open(const ChunkCacheOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("no cache directory");
  if (options.chunk_size == 0) return Status::InvalidArgument("chunk size 0");
  for (const char* sub : {"", "/chunks", "/images", "/tmp", "/meta"}) GLINT_RETURN_IF_ERROR(OwnDir(options.dir + sub));
  std::string lock_path = options.dir + "/lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, kFileMode);
  if (fd < 0) return Status::FromErrno(errno, "open " + lock_path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status::Conflict("cache directory " + options.dir + " is in use by another process (glint-fs or glint-api)");
  }
  std::unique_ptr<ChunkCache> cache(new ChunkCache(options, fd));
  GLINT_RETURN_IF_ERROR(cache->Load());
  return cache;
}

ChunkCache::ChunkCache(ChunkCacheOptions options, int lock_fd) : options_(std::move(options)), lock_fd_(lock_fd) {}

ChunkCache::~ChunkCache() { ::close(lock_fd_); }

std::string ChunkCache::ChunkPath(const ChunkKey& key, const std::string& digest) const {
  return options_.dir + "/chunks/" + key.image_id + "/" + std::to_string(key.index) + "." + digest;
}

std::string ChunkCache::ImagePath(const std::string& image_id) const { return options_.dir + "/images/" + image_id; }

std::string ChunkCache::EntryPath(const ChunkKey& key, const Entry& e) const {
  return e.in_file ? ImagePath(key.image_id) : ChunkPath(key, e.digest);
}

uint64_t ChunkCache::EntryOffset(const ChunkKey& key, const Entry& e) const {
  return e.in_file ? static_cast<uint64_t>(key.index) * options_.chunk_size : 0;
}

// Rebuilds the index from chunks/: anything that is not a well-named chunk of a sane size
// goes (partial writes never got a chunk name: they stayed in tmp/, emptied here).
Status ChunkCache::Load() {
  for (const auto& name : ListDir(options_.dir + "/tmp")) ::unlink((options_.dir + "/tmp/" + name).c_str());
  std::vector<Found> found;
  LoadImageFiles(found);
  for (const auto& image : ListDir(options_.dir + "/chunks")) {
    std::string idir = options_.dir + "/chunks/" + image;
    struct stat dst;
    if (!IsUuid(image) || ::lstat(idir.c_str(), &dst) != 0 || !S_ISDIR(dst.st_mode)) {
      spdlog::warn("cache: removing stray {}", idir);
      std::filesystem::remove_all(idir);
      continue;
    }
    for (const auto& file : ListDir(idir)) {
      std::string path = idir + "/" + file;
      auto parsed = ParseChunkName(file);
      struct stat st;
      if (!parsed || ::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
          static_cast<uint64_t>(st.st_size) > options_.chunk_size) {
        ::unlink(path.c_str());
        continue;
      }
      ChunkKey key{image, parsed->first};
      auto dup = entries_.find(key);
      if (dup != entries_.end() && dup->second.in_file) {  // left by an assembly cut short
        ::unlink(path.c_str());
        continue;
      }
      if (dup != entries_.end()) {  // two digests for one chunk: keep neither
        ::unlink(ChunkPath(key, dup->second.digest).c_str());
        stats_.bytes -= dup->second.size;
        entries_.erase(dup);
        ::unlink(path.c_str());
        continue;
      }
      Entry e;
      e.digest = parsed->second;
      e.size = static_cast<uint64_t>(st.st_size);
      entries_[key] = e;
      stats_.bytes += e.size;
      found.push_back({static_cast<int64_t>(st.st_mtime), key});
    }
  }
  // Oldest written is the first to go (the last-use order died with the last process).
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.mtime > b.mtime; });
  for (const auto& f : found) {
    auto it = entries_.find(f.key);
    if (it != entries_.end()) it->second.lru = lru_.insert(lru_.end(), f.key);
  }
  stats_.chunks = entries_.size();
  // A smaller --cache-size than last time is met at the next store, once the kept pins
  // are known (evicting now could drop pinned chunks).
  return Status::Ok();
}

size_t ChunkCache::RemoveLocked(const ChunkKey& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return 0;
  if (it->second.in_file) return RemoveImageFileLocked(key.image_id);
  ::unlink(ChunkPath(key, it->second.digest).c_str());
  stats_.bytes -= it->second.size;
  lru_.erase(it->second.lru);
  entries_.erase(it);
  stats_.chunks = entries_.size();
  return 1;
}

bool ChunkCache::MakeRoom(uint64_t bytes, const ChunkKey& keep) {
  auto it = lru_.end();
  while (stats_.bytes + bytes > options_.capacity && it != lru_.begin()) {
    --it;
    if (pinned_.count(it->image_id) || (it->image_id == keep.image_id && it->index == keep.index)) continue;
    ChunkKey victim = *it;
    it = std::next(it);  // RemoveLocked erases the victim's node
    if (RemoveLocked(victim) > 1) it = lru_.end();  // a whole image went: other nodes too
    ++stats_.evictions;
  }
  return stats_.bytes + bytes <= options_.capacity;
}

Result<ChunkRef> ChunkCache::Get(const ChunkKey& key, const std::string& expected, const ChunkFetch& fetch) {
  std::shared_ptr<Flight> flight;
  {
    std::unique_lock<std::mutex> l(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.verified && (expected.empty() || expected == it->second.digest)) {
      int fd = ::open(EntryPath(key, it->second).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        ++stats_.hits;
        auto ref = std::make_shared<ChunkData>();
        ref->fd = fd;
        ref->offset = EntryOffset(key, it->second);
        ref->size = it->second.size;
        return ChunkRef(ref);
      }
      RemoveLocked(key);  // gone behind our back: fetch again
    }
    auto f = flights_.find(key);
    if (f != flights_.end()) {
      std::shared_ptr<Flight> other = f->second;
      other->cv.wait(l, [&] { return other->done; });
      return *other->result;
    }
    flight = std::make_shared<Flight>();
    flights_[key] = flight;
  }
  Result<ChunkRef> r = Status::Internal("unset");
  ChunkRef disk = FromDisk(key, expected);
  r = disk ? Result<ChunkRef>(disk) : Fetch(key, expected, fetch);
  {
    std::lock_guard<std::mutex> l(mu_);
    flight->result = r;
    flight->done = true;
    flights_.erase(key);
  }
  flight->cv.notify_all();
  return r;
}

ChunkRef ChunkCache::FromDisk(const ChunkKey& key, const std::string& expected) {
  std::string digest, path;
  uint64_t size = 0, offset = 0;
  bool verified = false, in_file = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    in_file = it->second.in_file;
    digest = it->second.digest;
    size = it->second.size;
    verified = it->second.verified;
    path = EntryPath(key, it->second);
    offset = EntryOffset(key, it->second);
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  bool good = fd >= 0 && (expected.empty() || expected == digest);
  if (good && !verified) {
    struct stat st;
    good = ::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) >= offset + size &&
           (in_file || static_cast<uint64_t>(st.st_size) == size) && FileSha256(fd, offset, size) == digest;
    if (!good) {
      spdlog::error("cache: chunk {} of image {} is damaged on disk (does not match sha256 {}); fetching it again",
                    key.index, key.image_id, digest);
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(key);
  if (!good || it == entries_.end() || it->second.digest != digest || EntryPath(key, it->second) != path) {
    if (fd >= 0) ::close(fd);
    if (!good) ++stats_.verify_failures;
    if (!good && it != entries_.end() && it->second.in_file && fd >= 0) {
      RemoveFromImageFileLocked(key);  // the rest of the file is still good
    } else {
      RemoveLocked(key);
    }
    return nullptr;
  }
  it->second.verified = true;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  ++stats_.hits;
  auto ref = std::make_shared<ChunkData>();
  ref->fd = fd;
  ref->offset = offset;
  ref->size = size;
  return ref;
}

Result<ChunkRef> ChunkCache::Fetch(const ChunkKey& key, const std::string& expected, const ChunkFetch& fetch) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard<std::mutex> l(mu_);
      ++stats_.fetches;
      ++fetches_by_image_[key.image_id];
    }
    auto bytes = fetch();
    if (!bytes.ok()) return bytes.status();
    if (bytes->empty() || bytes->size() > options_.chunk_size) {
      return Status::IOError("chunk " + std::to_string(key.index) + " of image " + key.image_id + " came back with " +
                             std::to_string(bytes->size()) + " bytes");
    }
    std::string digest = Sha256Hex(bytes->data(), bytes->size());
    if (expected.empty() || digest == expected) return Store(key, digest, std::move(bytes).value());
    {
      std::lock_guard<std::mutex> l(mu_);
      ++stats_.verify_failures;
    }
    spdlog::error("cache: chunk {} of image {} does not match its manifest (sha256 {}, manifest {}){}", key.index,
                  key.image_id, digest, expected, attempt == 0 ? "; fetching it again" : "; refusing to serve it");
  }
  return Status::Corruption("chunk " + std::to_string(key.index) + " of image " + key.image_id +
                            " does not match the image's manifest");
}

Result<ChunkRef> ChunkCache::Store(const ChunkKey& key, const std::string& digest, std::vector<char> bytes) {
  auto in_memory = [&]() {
    auto ref = std::make_shared<ChunkData>();
    ref->size = bytes.size();
    ref->bytes = std::move(bytes);
    return Result<ChunkRef>(ChunkRef(ref));
  };
  std::string tmp;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!MakeRoom(bytes.size(), key)) return in_memory();  // full of pinned chunks: serve, keep nothing
    tmp = options_.dir + "/tmp/" + std::to_string(::getpid()) + "." + std::to_string(++tmp_counter_);
  }
  std::string path = ChunkPath(key, digest);
  Status s = WriteRenamed(tmp, options_.dir + "/chunks/" + key.image_id, path, bytes.data(), bytes.size());
  if (!s.ok()) {
    spdlog::warn("cache: cannot keep chunk {} of {}: {}", key.index, key.image_id, s.ToString());
    return in_memory();
  }
  int rfd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  std::lock_guard<std::mutex> l(mu_);
  auto old = entries_.find(key);
  if (old != entries_.end() && old->second.digest != digest) RemoveLocked(key);
  auto same = entries_.find(key);
  if (same != entries_.end() && same->second.in_file) ::unlink(path.c_str());  // assembled meanwhile
  if (!entries_.count(key)) {
    Entry e;
    e.digest = digest;
    e.size = bytes.size();
    e.lru = lru_.insert(lru_.begin(), key);
    stats_.bytes += e.size;
    entries_[key] = e;
  }
  entries_[key].verified = true;
  stats_.chunks = entries_.size();
  MakeRoom(0, key);
  if (rfd < 0) return in_memory();
  auto ref = std::make_shared<ChunkData>();
  ref->fd = rfd;
  ref->size = bytes.size();
  return ChunkRef(ref);
}

std::string ChunkCache::TempPath() {
  std::lock_guard<std::mutex> l(mu_);
  return options_.dir + "/tmp/" + std::to_string(::getpid()) + "." + std::to_string(++tmp_counter_);
}

Status ChunkCache::PutMeta(const std::string& name, const std::string& data) {
  if (!IsPlainName(name)) return Status::InvalidArgument("bad cache file name " + name);
  std::string dir = options_.dir + "/meta";
  return WriteDurably(TempPath(), dir, dir + "/" + name, data.data(), data.size());
}

std::optional<std::string> ChunkCache::GetMeta(const std::string& name) {
  if (!IsPlainName(name)) return std::nullopt;
  return ReadSmallFile(options_.dir + "/meta/" + name, size_t{64} << 20);
}

std::vector<std::string> ChunkCache::MetaNames() { return ListDir(options_.dir + "/meta"); }

void ChunkCache::RemoveMeta(const std::string& name) {
  if (IsPlainName(name)) ::unlink((options_.dir + "/meta/" + name).c_str());
}

bool ChunkCache::Contains(const ChunkKey& key) {
  std::lock_guard<std::mutex> l(mu_);
  return entries_.count(key) > 0;
}

size_t ChunkCache::CachedChunks(const std::string& image_id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.lower_bound(ChunkKey{image_id, INT64_MIN});
  size_t n = 0;
  for (; it != entries_.end() && it->first.image_id == image_id; ++it) ++n;
  return n;
}

std::map<std::string, size_t> ChunkCache::ChunksByImage() {
  std::lock_guard<std::mutex> l(mu_);
  std::map<std::string, size_t> out;
  for (const auto& [key, entry] : entries_) ++out[key.image_id];
  return out;
}

size_t ChunkCache::RemoveImage(const std::string& image_id) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<ChunkKey> keys;
  for (auto it = entries_.lower_bound(ChunkKey{image_id, INT64_MIN}); it != entries_.end() && it->first.image_id == image_id;
       ++it) {
    keys.push_back(it->first);
  }
  for (const auto& key : keys) RemoveLocked(key);  // the first of a whole-image file takes all
  if (!keys.empty()) ::rmdir((options_.dir + "/chunks/" + image_id).c_str());
  return keys.size();
}

uint64_t ChunkCache::FetchesOf(const std::string& image_id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = fetches_by_image_.find(image_id);
  return it == fetches_by_image_.end() ? 0 : it->second;
}

void ChunkCache::SetPinned(const std::string& image_id, bool pinned) {
  std::lock_guard<std::mutex> l(mu_);
  if (pinned) {
    pinned_.insert(image_id);
  } else {
    pinned_.erase(image_id);
    MakeRoom(0, ChunkKey{});
  }
}

bool ChunkCache::Pinned(const std::string& image_id) {
  std::lock_guard<std::mutex> l(mu_);
  return pinned_.count(image_id) > 0;
}

CacheStats ChunkCache::Stats() {
  std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

std::optional<uint64_t> ParseByteSize(const std::string& text) {
  if (text.empty()) return std::nullopt;
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 15) return std::nullopt;
  uint64_t v = std::stoull(text.substr(0, digits));
  std::string unit = text.substr(digits);
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.pop_back();
  if (unit.size() == 2 && (unit[1] == 'i' || unit[1] == 'I')) unit.pop_back();
  int shift = 0;
  if (unit.empty()) {
    shift = 0;
  } else if (unit.size() == 1 && std::string("kKmMgGtT").find(unit[0]) != std::string::npos) {
    shift = 10 * (1 + static_cast<int>(std::string("KMGT").find(static_cast<char>(std::toupper(unit[0])))));
  } else {
    return std::nullopt;
  }
  if (shift && v > (UINT64_MAX >> shift)) return std::nullopt;
  return v << shift;
}

}  // namespace glint::cache
