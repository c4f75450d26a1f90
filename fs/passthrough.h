// Passthrough: FUSE passthrough (Linux 6.9 and later) for image files that glint-fs has
// whole in one file: the host cache's whole-image files, or, without a cache, a file
// store's own image files. The kernel then reads such a file straight from its backing file: no request reaches glint-fs, the page cache is the
// backing file's own, and cached reads run at local-file speed.
//
// libfuse 3.14 (Debian 12) predates passthrough, so glint-fs speaks that part of the
// protocol itself, through libfuse's custom I/O hook (fuse_session_custom_io) on the
// session's own /dev/fuse descriptor: Read sees the kernel's INIT (does it offer
// passthrough?), Writev adds the passthrough flag and a stacking depth to libfuse's INIT
// reply, and ReplyOpen answers an open with the backing file's id. Without the kernel's
// offer, or without CAP_SYS_ADMIN (which registering a backing file needs), every open is
// an ordinary one.
//
// The kernel refuses to mix passthrough and ordinary opens of one inode, and all
// passthrough opens of an inode must share one backing file: Open decides per inode, and
// keeps the inode's backing id registered until its last passthrough open is released.
// Called from libfuse worker threads; thread-safe.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

struct fuse_req;

namespace glint::fs {

class Passthrough {
 public:
  explicit Passthrough(bool wanted) : wanted_(wanted) {}

  // The custom I/O calls (libfuse passes the session's descriptor).
  ssize_t Read(int fd, void* buf, size_t len);
  ssize_t Writev(int fd, struct iovec* iov, int count);
  // Whether the kernel offered passthrough at INIT and glint-fs took it.
  bool enabled() const { return enabled_.load(); }

  // An open of inode `ino`: the backing id to answer with (> 0), or 0 for an ordinary open.
  // `backing_file` opens the file holding exactly the image's bytes (read-only; the
  // descriptor is Open's to close) or returns -1 when there is none; it is called only when
  // the inode needs a new backing file. `dev_fd` is the session's /dev/fuse descriptor.
  int Open(int dev_fd, uint64_t ino, const std::function<int()>& backing_file);
  // The end of an open Open decided (`backing_id` as it returned).
  void Release(int dev_fd, uint64_t ino, int backing_id);
  // Answers an open with FOPEN_PASSTHROUGH and `backing_id`; libfuse's result.
  static int ReplyOpen(fuse_req* req, uint64_t fh, int backing_id);

 private:
  struct InodeState {
    int backing_id = 0;     // registered while passthrough_opens > 0
    int passthrough_opens = 0;
    int ordinary_opens = 0;
  };
  const bool wanted_;
  std::atomic<bool> offered_{false}, enabled_{false};
  std::atomic<uint64_t> init_unique_{0};
  std::mutex mu_;
  std::map<uint64_t, InodeState> inodes_;
};

}  // namespace glint::fs
