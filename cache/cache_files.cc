#include "cache/cache_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/digest.h"

namespace glint::cache {

Status OwnDir(const std::string& path) {
  if (::mkdir(path.c_str(), kDirMode) != 0 && errno != EEXIST) return Status::FromErrno(errno, "mkdir " + path);
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "cache directory " + path);
  struct stat st;
  Status s;
  if (::fstat(fd, &st) != 0) {
    s = Status::FromErrno(errno, "stat " + path);
  } else if (st.st_uid != ::geteuid()) {
    s = Status::PermissionDenied("cache directory " + path + " is owned by uid " + std::to_string(st.st_uid) +
                                 ", not by the mounting user");
  } else if ((st.st_mode & 07777) != kDirMode && ::fchmod(fd, kDirMode) != 0) {
    s = Status::FromErrno(errno, "chmod 0700 " + path);
  }
  ::close(fd);
  return s;
}

std::vector<std::string> ListDir(const std::string& path) {
  std::vector<std::string> names;
  DIR* d = ::opendir(path.c_str());
  if (!d) return names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  return names;
}

bool IsHex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::optional<std::pair<int64_t, std::string>> ParseChunkName(const std::string& name) {
  auto dot = name.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 12) return std::nullopt;
  std::string digits = name.substr(0, dot), digest = name.substr(dot + 1);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  if (!IsHex64(digest)) return std::nullopt;
  return std::make_pair(std::stoll(digits), digest);
}

Status WriteAll(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "write cache chunk");
    data += n;
    len -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status FsyncDir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? Status::Ok() : Status::FromErrno(err, "fsync " + path);
}

std::string FileSha256(int fd, uint64_t offset, uint64_t size) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    return "";
  }
  std::vector<char> buf(1 << 20);
  uint64_t at = 0;
  bool ok = true;
  while (at < size) {
    ssize_t n = ::pread(fd, buf.data(), std::min<uint64_t>(buf.size(), size - at), static_cast<off_t>(offset + at));
    if (n <= 0) {
      ok = false;
      break;
    }
    EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(n));
    at += static_cast<uint64_t>(n);
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, out, &len);
  EVP_MD_CTX_free(ctx);
  return ok ? HexEncode(out, len) : "";
}

namespace {

Status WriteAndRename(const std::string& tmp, const std::string& dir, const std::string& path, const char* data,
                      size_t len, bool sync) {
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kFileMode);
  Status s = fd < 0 ? Status::FromErrno(errno, "create " + tmp) : WriteAll(fd, data, len);
  if (s.ok() && sync && ::fsync(fd) != 0) s = Status::FromErrno(errno, "fsync " + tmp);
  if (fd >= 0) ::close(fd);
  if (s.ok()) s = OwnDir(dir);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = Status::FromErrno(errno, "rename to " + path);
  if (s.ok() && sync) s = FsyncDir(dir);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

}  // namespace

Status WriteDurably(const std::string& tmp, const std::string& dir, const std::string& path, const char* data,
                    size_t len) {
  return WriteAndRename(tmp, dir, path, data, len, true);
}

Status WriteRenamed(const std::string& tmp, const std::string& dir, const std::string& path, const char* data,
                    size_t len) {
  return WriteAndRename(tmp, dir, path, data, len, false);
}

bool IsPlainName(const std::string& name) {
  return !name.empty() && name.size() < 200 && name.find('/') == std::string::npos && name[0] != '.';
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

}  // namespace glint::cache
