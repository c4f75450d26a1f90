// ChunkCache's whole-image files (see chunk_cache.h): assembling an image's verified chunks
// into one file, finding such files at start, verifying them after a restart, and removing
// them whole.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <sstream>

#include "cache/cache_files.h"
#include "cache/chunk_cache.h"
#include "common/ids.h"

namespace glint::cache {
namespace {

// Copies `len` bytes of `in` (from 0) into `out` at `at`, in the kernel where it can.
Status CopyInto(int in, int out, uint64_t len, uint64_t at) {
  loff_t off = 0;
  loff_t out_off = static_cast<loff_t>(at);
  while (static_cast<uint64_t>(off) < len) {
    ssize_t n = ::copy_file_range(in, &off, out, &out_off, len - static_cast<uint64_t>(off), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) continue;
    if (n == 0) return Status::IOError("chunk file shorter than its entry");
    if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL) {
      return Status::FromErrno(errno, "copy chunk into image file");
    }
    std::vector<char> buf(1 << 20);  // no in-kernel copy here: through a buffer
    while (static_cast<uint64_t>(off) < len) {
      ssize_t r = ::pread(in, buf.data(), std::min<uint64_t>(buf.size(), len - static_cast<uint64_t>(off)), off);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return Status::IOError("chunk file shorter than its entry");
      ssize_t w = ::pwrite(out, buf.data(), static_cast<size_t>(r), out_off);
      if (w != r) return Status::FromErrno(w < 0 ? errno : EIO, "write image file");
      off += r;
      out_off += r;
    }
  }
  return Status::Ok();
}

struct ChunkPart {  // a chunk file going into a whole-image file
  int64_t index;
  int fd;
  std::string digest;
};

// Copies each part to its place in `out` (index x chunk size) and fsyncs `out`.
Status CopyParts(const std::vector<ChunkPart>& parts, int out, uint64_t chunk_size) {
  for (const auto& p : parts) {
    struct stat st;
    if (::fstat(p.fd, &st) != 0) return Status::FromErrno(errno, "stat chunk");
    GLINT_RETURN_IF_ERROR(CopyInto(p.fd, out, static_cast<uint64_t>(st.st_size), static_cast<uint64_t>(p.index) * chunk_size));
  }
  if (::fsync(out) != 0) return Status::FromErrno(errno, "fsync whole-image file");
  return Status::Ok();
}

// The digests kept beside a whole-image file: one lowercase SHA-256 per line, in order.
std::optional<std::vector<std::string>> ParseDigests(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!IsHex64(line)) return std::nullopt;
    out.push_back(line);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace

// images/<id> with images/<id>.sha256 beside it: an entry per digest, in the file. A file
// whose size does not fit its digests, a digest list without its file (an assembly cut
// short before its rename) and anything else goes.
void ChunkCache::LoadImageFiles(std::vector<Found>& found) {
  const std::string dir = options_.dir + "/images";
  const uint64_t cs = options_.chunk_size;
  for (const auto& name : ListDir(dir)) {
    const std::string path = dir + "/" + name;
    if (name.size() > 7 && name.compare(name.size() - 7, 7, ".sha256") == 0 && IsUuid(name.substr(0, name.size() - 7))) {
      struct stat st;
      if (::lstat((dir + "/" + name.substr(0, name.size() - 7)).c_str(), &st) != 0) ::unlink(path.c_str());
      continue;
    }
    struct stat st;
    auto digests = ReadSmallFile(path + ".sha256", 64 << 20);
    auto list = digests ? ParseDigests(*digests) : std::nullopt;
    const bool file_ok = IsUuid(name) && ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    const uint64_t size = file_ok ? static_cast<uint64_t>(st.st_size) : 0;
    if (!file_ok || !list || size <= (list->size() - 1) * cs || size > list->size() * cs) {
      spdlog::warn("cache: removing stray or damaged {}", path);
      ::unlink(path.c_str());
      ::unlink((path + ".sha256").c_str());
      continue;
    }
    for (size_t i = 0; i < list->size(); ++i) {
      ChunkKey key{name, static_cast<int64_t>(i)};
      Entry e;
      e.digest = (*list)[i];
      e.size = i + 1 < list->size() ? cs : size - i * cs;
      e.in_file = true;
      entries_[key] = e;
      stats_.bytes += e.size;
      found.push_back({static_cast<int64_t>(st.st_mtime), key});
    }
  }
}

Status ChunkCache::AssembleImage(const std::string& image_id, int64_t count) {
  if (!IsUuid(image_id) || count <= 0) return Status::InvalidArgument("bad image for a whole-image file");
  std::vector<ChunkPart> parts;  // the chunks still in chunk files
  std::vector<std::string> digests;
  bool has_file = false;  // some chunks are in the image's file already: the others go in place
  auto close_all = [&] {
    for (const auto& p : parts) ::close(p.fd);
  };
  {
    std::lock_guard<std::mutex> l(mu_);
    for (int64_t i = 0; i < count; ++i) {
      auto it = entries_.find(ChunkKey{image_id, i});
      if (it == entries_.end() || !it->second.verified || (i + 1 < count && it->second.size != options_.chunk_size)) {
        close_all();
        return Status::Conflict("chunk " + std::to_string(i) + " of " + image_id + " is not cached and verified");
      }
      digests.push_back(it->second.digest);
      if (it->second.in_file) {
        has_file = true;
        continue;
      }
      int fd = ::open(ChunkPath(it->first, it->second.digest).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        close_all();
        return Status::FromErrno(errno, "open chunk " + std::to_string(i) + " of " + image_id);
      }
      parts.push_back({i, fd, it->second.digest});
    }
  }
  if (parts.empty()) return Status::Ok();  // whole already
  const std::string dir = options_.dir + "/images", path = ImagePath(image_id);
  const std::string target = has_file ? path : TempPath();
  int out = has_file ? ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
                     : ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kFileMode);
  Status s = out < 0 ? Status::FromErrno(errno, "open " + target) : CopyParts(parts, out, options_.chunk_size);
  close_all();
  if (out >= 0) ::close(out);
  std::string list;
  for (const auto& d : digests) list += d + "\n";
  if (s.ok()) s = WriteDurably(TempPath(), dir, path + ".sha256", list.data(), list.size());
  std::lock_guard<std::mutex> l(mu_);
  // The chunks may have changed while copying (evicted, removed, the file dropped): then
  // nothing is kept.
  for (const auto& p : parts) {
    auto it = entries_.find(ChunkKey{image_id, p.index});
    if (s.ok() && (it == entries_.end() || it->second.in_file || it->second.digest != p.digest)) {
      s = Status::Conflict("chunks of " + image_id + " changed while assembling");
    }
  }
  for (int64_t i = 0; s.ok() && has_file && i < count; ++i) {
    auto it = entries_.find(ChunkKey{image_id, i});
    if (it == entries_.end()) s = Status::Conflict("the whole-image file of " + image_id + " went meanwhile");
  }
  if (s.ok() && !has_file && ::rename(target.c_str(), path.c_str()) != 0) s = Status::FromErrno(errno, "rename to " + path);
  if (s.ok()) s = FsyncDir(dir);
  if (!s.ok()) {
    if (!has_file) {
      ::unlink(target.c_str());
      ::unlink(path.c_str());
      ::unlink((path + ".sha256").c_str());
    }
    return s;
  }
  for (const auto& p : parts) {
    auto& e = entries_[ChunkKey{image_id, p.index}];
    ::unlink(ChunkPath(ChunkKey{image_id, p.index}, e.digest).c_str());
    e.in_file = true;
  }
  ::rmdir((options_.dir + "/chunks/" + image_id).c_str());
  return Status::Ok();
}

Status ChunkCache::VerifyImage(const std::string& image_id) {
  std::vector<std::pair<ChunkKey, std::string>> todo;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = entries_.lower_bound(ChunkKey{image_id, INT64_MIN});
         it != entries_.end() && it->first.image_id == image_id; ++it) {
      if (!it->second.verified) todo.emplace_back(it->first, it->second.digest);
    }
  }
  for (const auto& [key, digest] : todo) {
    if (!FromDisk(key, digest)) return Status::Corruption("chunk " + std::to_string(key.index) + " of " + image_id +
                                                          " is damaged on disk");
  }
  return Status::Ok();
}

std::optional<std::string> ChunkCache::ImageFile(const std::string& image_id, int64_t count) {
  std::lock_guard<std::mutex> l(mu_);
  int64_t n = 0;
  for (auto it = entries_.lower_bound(ChunkKey{image_id, INT64_MIN});
       it != entries_.end() && it->first.image_id == image_id; ++it, ++n) {
    if (!it->second.in_file || !it->second.verified || it->first.index != n) return std::nullopt;
  }
  if (n != count || n == 0) return std::nullopt;
  return ImagePath(image_id);
}

void ChunkCache::Touch(const std::string& image_id) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = entries_.lower_bound(ChunkKey{image_id, INT64_MIN});
       it != entries_.end() && it->first.image_id == image_id; ++it) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
}

size_t ChunkCache::RemoveFromImageFileLocked(const ChunkKey& key) {
  auto it = entries_.find(key);
  if (it == entries_.end() || !it->second.in_file) return 0;
  // Its bytes stay in the file (rewritten in place if it is fetched again); the file goes
  // with its last entry.
  stats_.bytes -= it->second.size;
  lru_.erase(it->second.lru);
  entries_.erase(it);
  stats_.chunks = entries_.size();
  auto next = entries_.lower_bound(ChunkKey{key.image_id, INT64_MIN});
  bool left = false;
  for (; next != entries_.end() && next->first.image_id == key.image_id; ++next) left = left || next->second.in_file;
  if (!left) RemoveImageFileLocked(key.image_id);
  return 1;
}

size_t ChunkCache::RemoveImageFileLocked(const std::string& image_id) {
  size_t n = 0;
  auto it = entries_.lower_bound(ChunkKey{image_id, INT64_MIN});
  while (it != entries_.end() && it->first.image_id == image_id) {
    if (!it->second.in_file) {
      ++it;
      continue;
    }
    stats_.bytes -= it->second.size;
    lru_.erase(it->second.lru);
    it = entries_.erase(it);
    ++n;
  }
  const std::string path = ImagePath(image_id);
  ::unlink(path.c_str());  // open readers (and passthrough files) keep reading it
  ::unlink((path + ".sha256").c_str());
  stats_.chunks = entries_.size();
  return n;
}

}  // namespace glint::cache
