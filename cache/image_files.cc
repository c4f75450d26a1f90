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

// Copies `len` bytes of `in` (from 0) to the end of `out`, in the kernel where it can.
Status CopyInto(int in, int out, uint64_t len) {
  loff_t off = 0;
  while (static_cast<uint64_t>(off) < len) {
    ssize_t n = ::copy_file_range(in, &off, out, nullptr, len - static_cast<uint64_t>(off), 0);
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
      GLINT_RETURN_IF_ERROR(WriteAll(out, buf.data(), static_cast<size_t>(r)));
      off += r;
    }
  }
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

std::optional<std::string> ReadSmallFile(const std::string& path, size_t max) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && out.size() <= max) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (n < 0 || out.size() > max) return std::nullopt;
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
  std::vector<int> fds;
  std::vector<std::string> digests;
  auto close_all = [&] {
    for (int fd : fds) ::close(fd);
  };
  {
    std::lock_guard<std::mutex> l(mu_);
    for (int64_t i = 0; i < count; ++i) {
      auto it = entries_.find(ChunkKey{image_id, i});
      if (it != entries_.end() && it->second.in_file && i == 0) return Status::Ok();  // done before
      if (it == entries_.end() || it->second.in_file || !it->second.verified ||
          (i + 1 < count && it->second.size != options_.chunk_size)) {
        close_all();
        return Status::Conflict("chunk " + std::to_string(i) + " of " + image_id + " is not cached and verified");
      }
      int fd = ::open(ChunkPath(it->first, it->second.digest).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        close_all();
        return Status::FromErrno(errno, "open chunk " + std::to_string(i) + " of " + image_id);
      }
      fds.push_back(fd);
      digests.push_back(it->second.digest);
    }
  }
  const std::string tmp = TempPath(), dir = options_.dir + "/images", path = ImagePath(image_id);
  int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kFileMode);
  Status s = out < 0 ? Status::FromErrno(errno, "create " + tmp) : Status::Ok();
  for (size_t i = 0; s.ok() && i < fds.size(); ++i) {
    struct stat st;
    s = ::fstat(fds[i], &st) == 0 ? CopyInto(fds[i], out, static_cast<uint64_t>(st.st_size))
                                   : Status::FromErrno(errno, "stat chunk");
  }
  close_all();
  if (s.ok() && ::fsync(out) != 0) s = Status::FromErrno(errno, "fsync " + tmp);
  if (out >= 0) ::close(out);
  std::string list;
  for (const auto& d : digests) list += d + "\n";
  if (s.ok()) s = WriteDurably(TempPath(), dir, path + ".sha256", list.data(), list.size());
  std::lock_guard<std::mutex> l(mu_);
  // The chunks may have changed while copying (evicted, removed): then nothing is kept.
  for (int64_t i = 0; s.ok() && i < count; ++i) {
    auto it = entries_.find(ChunkKey{image_id, i});
    if (it == entries_.end() || it->second.in_file || it->second.digest != digests[static_cast<size_t>(i)]) {
      s = Status::Conflict("chunks of " + image_id + " changed while assembling");
    }
  }
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = Status::FromErrno(errno, "rename to " + path);
  if (s.ok()) s = FsyncDir(dir);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    ::unlink(path.c_str());
    ::unlink((path + ".sha256").c_str());
    return s;
  }
  for (int64_t i = 0; i < count; ++i) {
    auto& e = entries_[ChunkKey{image_id, i}];
    ::unlink(ChunkPath(ChunkKey{image_id, i}, e.digest).c_str());
    e.in_file = true;
  }
  ::rmdir((options_.dir + "/chunks/" + image_id).c_str());
  return Status::Ok();
}

Status ChunkCache::VerifyImageFile(const std::string& image_id) {
  std::vector<std::pair<ChunkKey, std::string>> todo;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = entries_.lower_bound(ChunkKey{image_id, INT64_MIN});
         it != entries_.end() && it->first.image_id == image_id; ++it) {
      if (it->second.in_file && !it->second.verified) todo.emplace_back(it->first, it->second.digest);
    }
  }
  for (const auto& [key, digest] : todo) {
    if (!FromDisk(key, digest)) return Status::Corruption("chunk " + std::to_string(key.index) + " of " + image_id +
                                                          " is damaged in its whole-image file");
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
