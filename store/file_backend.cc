#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/ids.h"
#include "store/backend.h"

namespace glint::store {
namespace {

constexpr size_t kSparseBlock = 64 * 1024;
constexpr int64_t kWritebackEvery = 64 << 20;  // start writeback early so fsync is short
const std::string kPartialPrefix = ".glint-upload-";

bool AllZero(const char* p, size_t n) {
  if (n == 0) return true;
  if (p[0] != 0) return false;
  return std::memcmp(p, p + 1, n - 1) == 0;
}

// Writes with O_DIRECT where the file system allows it: no page-cache copy (the dominant
// CPU cost of a buffered write here), and data goes to the device as it streams. Input
// that is not 4 KiB-aligned is staged in an aligned buffer; the unaligned tail is
// written after switching O_DIRECT off.
class FileWriter final : public Writer {
 public:
  FileWriter(int fd, bool direct, std::string partial, std::string final_path,
             std::string location, int dirfd)
      : fd_(fd), direct_(direct), partial_(std::move(partial)), final_(std::move(final_path)),
        location_(std::move(location)), dirfd_(dirfd) {
    if (direct_) staging_.reset(static_cast<char*>(std::aligned_alloc(kAlign, kStaging)));
  }
  ~FileWriter() override {
    if (!committed_) Abort();
    if (dirfd_ >= 0) ::close(dirfd_);
  }

  Status Write(const char* data, size_t len) override {
    if (!direct_) return WriteAt(data, len);
    // Fast path: aligned whole blocks go straight to the device.
    if (staged_ == 0 && reinterpret_cast<uintptr_t>(data) % kAlign == 0) {
      size_t whole = len - len % kAlign;
      if (whole > 0) GLINT_RETURN_IF_ERROR(WriteAt(data, whole));
      data += whole;
      len -= whole;
    }
    while (len > 0) {
      size_t n = std::min(len, kStaging - staged_);
      std::memcpy(staging_.get() + staged_, data, n);
      staged_ += n;
      data += n;
      len -= n;
      if (staged_ == kStaging) {
        GLINT_RETURN_IF_ERROR(WriteAt(staging_.get(), staged_));
        staged_ = 0;
      }
    }
    return Status::Ok();
  }

  Result<std::string> Commit() override {
    if (staged_ > 0) {
      size_t whole = staged_ - staged_ % kAlign;
      if (whole > 0) GLINT_RETURN_IF_ERROR(WriteAt(staging_.get(), whole));
      if (staged_ > whole) {
        int flags = ::fcntl(fd_, F_GETFL);
        if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_DIRECT) != 0) {
          return Status::FromErrno(errno, "fcntl " + partial_);
        }
        GLINT_RETURN_IF_ERROR(WriteAt(staging_.get() + whole, staged_ - whole));
      }
      staged_ = 0;
    }
    if (::ftruncate(fd_, offset_) != 0) return Status::FromErrno(errno, "truncate " + partial_);
    if (::fsync(fd_) != 0) return Status::FromErrno(errno, "fsync " + partial_);
    if (::close(fd_) != 0) {
      fd_ = -1;
      return Status::FromErrno(errno, "close " + partial_);
    }
    fd_ = -1;
    if (::rename(partial_.c_str(), final_.c_str()) != 0) {
      return Status::FromErrno(errno, "rename " + partial_);
    }
    committed_ = true;
    if (::fsync(dirfd_) != 0) return Status::FromErrno(errno, "fsync store directory");
    return location_;
  }

  void Abort() override {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (!committed_ && !partial_.empty()) {
      ::unlink(partial_.c_str());
      partial_.clear();
    }
  }

 private:
  static constexpr size_t kAlign = 4096;
  static constexpr size_t kStaging = 1 << 20;
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };

  // Writes at the current offset; block-aligned runs of zeros become holes.
  Status WriteAt(const char* data, size_t len) {
    size_t done = 0;
    while (done < len) {
      size_t block = std::min(kSparseBlock - static_cast<size_t>(offset_ % kSparseBlock), len - done);
      if (AllZero(data + done, block)) {
        offset_ += static_cast<int64_t>(block);
        done += block;
        continue;
      }
      size_t run = block;
      while (done + run < len) {
        size_t next = std::min(kSparseBlock, len - done - run);
        if (AllZero(data + done + run, next)) break;
        run += next;
      }
      size_t written = 0;
      while (written < run) {
        ssize_t n = ::pwrite(fd_, data + done + written, run - written, offset_);
        if (n < 0) {
          if (errno == EINTR) continue;
          return Status::FromErrno(errno, "write " + partial_);
        }
        written += static_cast<size_t>(n);
        offset_ += n;
      }
      done += run;
      if (!direct_ && offset_ - flushed_ >= kWritebackEvery) {
        ::sync_file_range(fd_, flushed_, offset_ - flushed_, SYNC_FILE_RANGE_WRITE);
        flushed_ = offset_;
      }
    }
    return Status::Ok();
  }

  int fd_;
  bool direct_;
  std::string partial_, final_, location_;
  int dirfd_;
  std::unique_ptr<char, Free> staging_;
  size_t staged_ = 0;
  int64_t offset_ = 0, flushed_ = 0;
  bool committed_ = false;
};

class FileReader final : public Reader {
 public:
  FileReader(int fd, int64_t size) : fd_(fd), size_(size) {}
  ~FileReader() override { ::close(fd_); }
  int64_t size() const override { return size_; }
  int fd() const override { return fd_; }
  Result<size_t> ReadAt(int64_t offset, char* buf, size_t len) override {
    size_t got = 0;
    while (got < len) {
      ssize_t n = ::pread(fd_, buf + got, len - got, offset + static_cast<int64_t>(got));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "read image data");
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    return got;
  }

 private:
  int fd_;
  int64_t size_;
};

class FileBackend final : public Backend {
 public:
  FileBackend(std::string id, std::string dir) : id_(std::move(id)), dir_(std::move(dir)) {}
  const std::string& id() const override { return id_; }

  bool OwnsLocation(const std::string& url) const override {
    return PathFor(url).ok();
  }

  std::string LocationFor(const std::string& image_id) const override {
    return "file://" + dir_ + "/" + image_id;
  }

  Result<std::unique_ptr<Writer>> NewWriter(const std::string& image_id,
                                            const std::string& token) override {
    if (!IsUuid(image_id) || token.find('/') != std::string::npos || token.empty()) {
      return Status::InvalidArgument("invalid image id or upload token");
    }
    std::string partial = dir_ + "/" + kPartialPrefix + image_id + "." + token;
    int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_DIRECT, 0640);
    bool direct = fd >= 0;
    if (fd < 0 && errno == EINVAL) {  // e.g. tmpfs: no O_DIRECT
      fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    }
    if (fd < 0) return Status::FromErrno(errno, "create " + partial);
    int dirfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(partial.c_str());
      return Status::FromErrno(err, "open " + dir_);
    }
    return std::unique_ptr<Writer>(new FileWriter(fd, direct, partial, dir_ + "/" + image_id,
                                                  LocationFor(image_id), dirfd));
  }

  Result<std::unique_ptr<Reader>> Open(const std::string& location) override {
    auto path = PathFor(location);
    if (!path.ok()) return path.status();
    int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open image data");
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno(err, "stat image data");
    }
    return std::unique_ptr<Reader>(new FileReader(fd, st.st_size));
  }

  Status Delete(const std::string& location) override {
    auto path = PathFor(location);
    if (!path.ok()) return path.status();
    if (::unlink(path->c_str()) != 0 && errno != ENOENT) {
      return Status::FromErrno(errno, "delete image data");
    }
    return Status::Ok();
  }

  Result<std::vector<StoredObject>> ListObjects() override {
    std::vector<StoredObject> out;
    DIR* d = ::opendir(dir_.c_str());
    if (!d) return Status::FromErrno(errno, "list " + dir_);
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind(kPartialPrefix, 0) == 0) {
        std::string rest = name.substr(kPartialPrefix.size());
        if (rest.size() > 37 && IsUuid(rest.substr(0, 36)) && rest[36] == '.') {
          out.push_back({name, rest.substr(0, 36), rest.substr(37)});
        }
      } else if (IsUuid(name)) {
        out.push_back({name, name, ""});
      }
    }
    ::closedir(d);
    return out;
  }

  Status DeleteObject(const StoredObject& object) override {
    if (object.name.find('/') != std::string::npos) return Status::InvalidArgument("bad name");
    std::string path = dir_ + "/" + object.name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Status::FromErrno(errno, "unlink " + path);
    return Status::Ok();
  }

 private:
  // file://<dir>/<uuid> only: a location can never point outside the store directory.
  Result<std::string> PathFor(const std::string& url) const {
    const std::string prefix = "file://" + dir_ + "/";
    if (url.rfind(prefix, 0) != 0 || !IsUuid(url.substr(prefix.size()))) {
      return Status::InvalidArgument("location " + url + " is not in file store " + id_);
    }
    return dir_ + "/" + url.substr(prefix.size());
  }

  std::string id_, dir_;
};

}  // namespace

Result<std::unique_ptr<Backend>> NewFileBackend(const std::string& id, const std::string& datadir) {
  std::error_code ec;
  std::filesystem::create_directories(datadir, ec);
  if (ec) return Status::IOError("cannot create store directory " + datadir + ": " + ec.message());
  auto abs = std::filesystem::canonical(datadir, ec);
  if (ec) return Status::IOError("cannot resolve " + datadir + ": " + ec.message());
  return std::unique_ptr<Backend>(new FileBackend(id, abs.string()));
}

}  // namespace glint::store
