#define FUSE_USE_VERSION 312
#include "fs/passthrough.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace glint::fs {
namespace {

// The parts of the FUSE wire protocol (include/uapi/linux/fuse.h, 7.40) that libfuse 3.14
// and Debian 12's kernel headers do not have.
constexpr uint32_t kOpInit = 26;
constexpr uint32_t kInitExt = 1u << 30;             // FUSE_INIT_EXT: flags2 is valid
constexpr uint32_t kPassthroughFlags2 = 1u << 5;    // FUSE_PASSTHROUGH (bit 37) in flags2
constexpr uint32_t kOpenPassthrough = 1u << 7;      // FOPEN_PASSTHROUGH
constexpr uint32_t kOpenNoFlush = 1u << 5;          // FOPEN_NOFLUSH
// Backing files on a plain file system (depth 0) are allowed; glint-fs itself may still be
// stacked on once (an overlay over the mount).
constexpr uint32_t kMaxStackDepth = 1;

struct WireInHeader {
  uint32_t len, opcode;
  uint64_t unique, nodeid;
  uint32_t uid, gid, pid;
  uint16_t total_extlen, padding;
};
struct WireInitIn {
  uint32_t major, minor, max_readahead, flags, flags2;
};
struct WireOutHeader {
  uint32_t len;
  int32_t error;
  uint64_t unique;
};
struct WireInitOut {
  uint32_t major, minor, max_readahead, flags;
  uint16_t max_background, congestion_threshold;
  uint32_t max_write, time_gran;
  uint16_t max_pages, map_alignment;
  uint32_t flags2, max_stack_depth;
  uint32_t unused[6];
};
static_assert(sizeof(WireInHeader) == 40 && sizeof(WireOutHeader) == 16 && sizeof(WireInitOut) == 64);
struct WireOpenOut {
  uint64_t fh;
  uint32_t open_flags;
  int32_t backing_id;
};
struct WireBackingMap {
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};
constexpr unsigned long kIocBackingOpen = _IOW(229, 1, WireBackingMap);
constexpr unsigned long kIocBackingClose = _IOW(229, 2, uint32_t);

}  // namespace

ssize_t Passthrough::Read(int fd, void* buf, size_t len) {
  ssize_t n = ::read(fd, buf, len);
  if (n >= static_cast<ssize_t>(sizeof(WireInHeader) + sizeof(WireInitIn)) && init_unique_.load() == 0) {
    WireInHeader in;
    std::memcpy(&in, buf, sizeof in);
    if (in.opcode == kOpInit) {
      WireInitIn init;
      std::memcpy(&init, static_cast<char*>(buf) + sizeof in, sizeof init);
      offered_ = (init.flags & kInitExt) && (init.flags2 & kPassthroughFlags2);
      init_unique_ = in.unique;
    }
  }
  return n;
}

ssize_t Passthrough::Writev(int fd, struct iovec* iov, int count) {
  const uint64_t unique = init_unique_.load();
  if (!wanted_ || !offered_ || unique == 0 || enabled_ || count < 2 || iov[0].iov_len != sizeof(WireOutHeader) ||
      iov[1].iov_len != sizeof(WireInitOut)) {
    return ::writev(fd, iov, count);
  }
  WireOutHeader out;
  std::memcpy(&out, iov[0].iov_base, sizeof out);
  if (out.unique != unique || out.error != 0) return ::writev(fd, iov, count);
  // libfuse's INIT reply: the same, asking for passthrough too.
  WireInitOut init;
  std::memcpy(&init, iov[1].iov_base, sizeof init);
  init.flags |= kInitExt;
  init.flags2 |= kPassthroughFlags2;
  init.max_stack_depth = kMaxStackDepth;
  std::vector<iovec> copy(iov, iov + count);
  copy[1] = {&init, sizeof init};
  ssize_t n = ::writev(fd, copy.data(), count);
  if (n >= 0) {
    enabled_ = true;
    spdlog::info("glint-fs: FUSE passthrough on: whole cached images are read by the kernel directly");
  }
  return n;
}

int Passthrough::Open(int dev_fd, uint64_t ino, const std::function<int()>& backing_file) {
  std::lock_guard<std::mutex> l(mu_);
  InodeState& s = inodes_[ino];
  if (s.passthrough_opens > 0) {  // the same backing file for every passthrough open
    ++s.passthrough_opens;
    return s.backing_id;
  }
  auto ordinary = [&] {
    ++s.ordinary_opens;
    return 0;
  };
  if (!enabled_ || s.ordinary_opens > 0) return ordinary();
  int fd = backing_file();
  if (fd < 0) return ordinary();  // none (or evicted meanwhile)
  WireBackingMap map{fd, 0, 0};
  int id = ::ioctl(dev_fd, kIocBackingOpen, &map);
  int err = errno;
  ::close(fd);  // the kernel holds its own reference
  if (id <= 0) {
    spdlog::warn("glint-fs: the kernel refused passthrough for inode {} ({}); reading through glint-fs from now on",
                 ino, std::strerror(err));
    enabled_ = false;
    return ordinary();
  }
  s.backing_id = id;
  s.passthrough_opens = 1;
  return id;
}

void Passthrough::Release(int dev_fd, uint64_t ino, int backing_id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return;
  InodeState& s = it->second;
  if (backing_id > 0 && s.passthrough_opens > 0 && --s.passthrough_opens == 0) {
    uint32_t id = static_cast<uint32_t>(s.backing_id);
    if (::ioctl(dev_fd, kIocBackingClose, &id) != 0) {
      spdlog::warn("glint-fs: closing passthrough backing {}: {}", id, std::strerror(errno));
    }
    s.backing_id = 0;
  } else if (backing_id == 0 && s.ordinary_opens > 0) {
    --s.ordinary_opens;
  }
  if (s.passthrough_opens == 0 && s.ordinary_opens == 0) inodes_.erase(it);
}

int Passthrough::ReplyOpen(fuse_req* req, uint64_t fh, int backing_id) {
  WireOpenOut out{fh, kOpenPassthrough | kOpenNoFlush, backing_id};
  return fuse_reply_buf(req, reinterpret_cast<const char*>(&out), sizeof out);
}

}  // namespace glint::fs
