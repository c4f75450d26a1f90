#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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

class FileWriter final : public Writer {
 public:
  FileWriter(int fd, std::string partial, std::string final_path, std::string location,
             int dirfd)
      : fd_(fd), partial_(std::move(partial)), final_(std::move(final_path)),
        location_(std::move(location)), dirfd_(dirfd) {}
  ~FileWriter() override {
    if (!committed_) Abort();
    if (dirfd_ >= 0) ::close(dirfd_);
  }

  Status Write(const char* data, size_t len) override {
    size_t done = 0;
    while (done < len) {
      // Block-aligned runs of zeros become holes.
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
      if (offset_ - flushed_ >= kWritebackEvery) {
        ::sync_file_range(fd_, flushed_, offset_ - flushed_, SYNC_FILE_RANGE_WRITE);
        flushed_ = offset_;
      }
    }
    return Status::Ok();
  }

  Result<std::string> Commit() override {
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
  int fd_;
  std::string partial_, final_, location_;
  int dirfd_;
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
    int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return Status::FromErrno(errno, "create " + partial);
    int dirfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(partial.c_str());
      return Status::FromErrno(err, "open " + dir_);
    }
    return std::unique_ptr<Writer>(new FileWriter(fd, partial, dir_ + "/" + image_id,
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
