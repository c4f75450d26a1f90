#define FUSE_USE_VERSION 312
#include "fs/glint_fs.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <unordered_set>

#include "common/ids.h"
#include "fs/image_pins.h"
#include "fs/kernel_readahead.h"
#include "fs/mount_state.h"
#include "fs/open_files.h"
#include "fs/passthrough.h"
#include "fs/tree_refresher.h"

namespace glint::fs {
namespace {

static_assert(sizeof(fuse_ino_t) == sizeof(Ino) && kRootIno == FUSE_ROOT_ID);
const std::string kPinXattr = "user.glint.pin";

// The FUSE low-level operations over a MountState. Each op sends exactly one reply.
class Fs {
 public:
  Fs(ImageView& view, DataSource& source, const FsOptions& opt, HostCache* cache)
      : view_(view),
        source_(source),
        cache_(cache),
        opt_(opt),
        state_(source, NodeAttrs{static_cast<double>(opt.refresh_seconds), opt.file_timeout, opt.uid, opt.gid,
                                 opt.file_mode, DirModeFor(opt.file_mode)}),
        refresher_(view, state_, opt.refresh_seconds),
        pins_(cache ? std::make_unique<ImagePins>(*cache) : nullptr),
        passthrough_(opt.passthrough) {}
  // Files still open when the session ends (a lazy unmount, a reader killed) get no
  // release from the kernel: they are freed here.
  ~Fs() {
    std::lock_guard<std::mutex> l(open_mu_);
    for (OpenFile* of : open_) delete of;
    for (auto* entries : open_dirs_) delete entries;
  }
  const FsOptions& options() const { return opt_; }
  Passthrough& passthrough() { return passthrough_; }
  void SetMountpoint(std::string path) { mountpoint_ = std::move(path); }

  void Start(fuse_session* se) {
    dev_fd_ = fuse_session_fd(se);
    if (pins_) {
      // Pinned images are listed from their kept records until the API answers (it may
      // be down: they read from the cache).
      std::vector<ImageEntry> pinned = pins_->PinnedImages();
      if (!pinned.empty()) {
        ImageTree tree = BuildImageTree(std::move(pinned));
        TreeChanges changes = state_.ChangesTo(tree);
        state_.ApplyRefresh(std::move(tree), changes, {}, {});
      }
      pins_->Start();
    }
    refresher_.Start([se](const Invalidations& inval) {
      for (const auto& [parent, name] : inval.entries) {
        fuse_lowlevel_notify_inval_entry(se, parent, name.c_str(), name.size());
      }
      for (Ino ino : inval.inodes) fuse_lowlevel_notify_inval_inode(se, ino, 0, 0);
    });
  }
  void Stop() {
    refresher_.Stop();
    if (pins_) pins_->Stop();
  }

  void Lookup(fuse_req_t req, fuse_ino_t parent, const std::string& name) {
    std::optional<Ino> found = state_.Resolve(parent, name);
    if (!found && parent == kByIdIno && IsUuid(name)) {
      // Not listed: ask the API now (new, hidden, community, shared-but-not-accepted).
      auto e = view_.Lookup(name);
      if (e.ok() && e->id == name) {
        found = state_.AddLookedUp(std::move(e).value());
      } else if (!e.ok() && e.status().code() == Status::Code::kUnavailable) {
        return (void)fuse_reply_err(req, EIO);
      }
    }
    if (!found) return ReplyNegative(req);
    fuse_entry_param ep = {};
    double timeout = 0;
    if (int err = state_.Stat(*found, &ep.attr, &timeout, /*count_lookup=*/true)) {
      return (void)fuse_reply_err(req, err);
    }
    ep.ino = *found;
    ep.attr_timeout = ep.entry_timeout = timeout;
    fuse_reply_entry(req, &ep);
  }

  // "No such name", cached by the kernel for a moment (an entry with inode 0), so a
  // program probing by-id/ for an unknown image does not cost an API call per try.
  void ReplyNegative(fuse_req_t req) {
    fuse_entry_param ep = {};
    ep.ino = 0;
    ep.entry_timeout = opt_.negative_timeout;
    fuse_reply_entry(req, &ep);
  }

  void Forget(fuse_ino_t ino, uint64_t nlookup) { state_.Forget(ino, nlookup); }

  void GetAttr(fuse_req_t req, fuse_ino_t ino) {
    struct stat st;
    double timeout = 0;
    if (int err = state_.Stat(ino, &st, &timeout)) return (void)fuse_reply_err(req, err);
    fuse_reply_attr(req, &st, timeout);
  }

  void ReadLink(fuse_req_t req, fuse_ino_t ino) {
    std::string target = state_.LinkTarget(ino);
    if (target.empty()) return (void)fuse_reply_err(req, ENOENT);
    fuse_reply_readlink(req, target.c_str());
  }

  void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    auto entries = std::make_unique<std::vector<DirEntry>>();
    if (int err = state_.ListDir(ino, entries.get())) return (void)fuse_reply_err(req, err);
    {
      std::lock_guard<std::mutex> l(open_mu_);
      open_dirs_.insert(entries.get());
    }
    fi->fh = reinterpret_cast<uint64_t>(entries.release());
    fuse_reply_open(req, fi);
  }

  void ReadDir(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi) {
    const auto& entries = *reinterpret_cast<std::vector<DirEntry>*>(fi->fh);
    std::vector<char> buf(size);
    size_t used = 0;
    for (size_t i = static_cast<size_t>(off); i < entries.size(); ++i) {
      struct stat st = {};
      st.st_ino = entries[i].ino;
      st.st_mode = entries[i].type;
      size_t need = fuse_add_direntry(req, buf.data() + used, size - used, entries[i].name.c_str(), &st,
                                      static_cast<off_t>(i + 1));
      if (need > size - used) break;
      used += need;
    }
    fuse_reply_buf(req, buf.data(), used);
  }

  void ReleaseDir(fuse_req_t req, fuse_file_info* fi) {
    auto* entries = reinterpret_cast<std::vector<DirEntry>*>(fi->fh);
    {
      std::lock_guard<std::mutex> l(open_mu_);
      open_dirs_.erase(entries);
    }
    delete entries;
    fuse_reply_err(req, 0);
  }

  void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & (O_TRUNC | O_APPEND))) {
      return (void)fuse_reply_err(req, EROFS);
    }
    // The session is up once a file is opened: the mount's bdi exists.
    std::call_once(readahead_once_, [this] { RaiseKernelReadahead(mountpoint_, opt_.kernel_readahead_kb); });
    ImageEntry entry;
    std::shared_ptr<const std::atomic<bool>> gone;
    if (int err = state_.HoldImage(ino, &entry, &gone)) return (void)fuse_reply_err(req, err);
    if (cache_ && !passthrough_.enabled()) cache_->SetKeepWhole(false);  // off, or the kernel has none
    auto* of = new OpenFile{nullptr, gone, entry.id, ino, 0, entry.size};
    if (int err = OpenData(*of, entry)) {
      state_.ReleaseImage(entry.id);
      delete of;
      return (void)fuse_reply_err(req, err);
    }
    {
      std::lock_guard<std::mutex> l(open_mu_);
      open_.insert(of);
    }
    fi->fh = reinterpret_cast<uint64_t>(of);
    fi->keep_cache = 1;  // image data never changes: keep the page cache across opens
    fi->noflush = 1;
    int rc = of->backing_id > 0 ? Passthrough::ReplyOpen(req, fi->fh, of->backing_id) : fuse_reply_open(req, fi);
    if (rc == -ENOENT) CloseFile(of);  // the open was interrupted: no release will come
  }

  // Decides how `of` is read: by passthrough from a local file that holds the whole image
  // (nothing of the open reaches glint-fs again but its release: no store reader, no
  // boot-set recording), or through a store reader. 0, or the errno to answer the open with.
  int OpenData(OpenFile& of, const ImageEntry& entry) {
    if (cache_) {  // the host cache's whole copy, if it has one
      of.backing_id = passthrough_.Open(dev_fd_, of.ino, [&] {
        auto path = cache_->WholeFile(entry);
        return path ? ::open(path->c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
      });
      if (of.backing_id > 0) return 0;
    }
    auto reader = source_.Open(entry);
    if (!reader.ok()) {
      if (cache_) passthrough_.Release(dev_fd_, of.ino, 0);
      spdlog::error("open {}: {}", entry.id, reader.status().ToString());
      return reader.status().code() == Status::Code::kNotFound ? ENOENT : EIO;
    }
    of.reader = std::move(reader).value();
    if (cache_) return 0;
    // Without a cache, a store that keeps the image as one file (a file store, its size
    // already checked against the catalog) lets the kernel read that file itself. The
    // reader stays: lseek (SEEK_DATA/SEEK_HOLE) still asks glint-fs.
    int fd = of.reader->fd();
    of.backing_id = passthrough_.Open(dev_fd_, of.ino, [fd] { return fd < 0 ? -1 : ::fcntl(fd, F_DUPFD_CLOEXEC, 0); });
    return 0;
  }

  void Read(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi) {
    auto* of = reinterpret_cast<OpenFile*>(fi->fh);
    if (of->gone->load()) return (void)fuse_reply_err(req, EIO);
    if (!of->reader) return (void)fuse_reply_err(req, EIO);  // a cached whole file: the kernel reads it, never glint-fs
    if (auto* cached = dynamic_cast<CachedReader*>(of->reader.get())) {
      if (ReadCached(req, *cached, size, off)) return;
    }
    int fd = of->reader->fd();
    if (fd >= 0) {
      // Zero-copy: libfuse splices from the store file into /dev/fuse when it can.
      fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
      bv.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
      bv.buf[0].fd = fd;
      bv.buf[0].pos = off;
      fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
      return;
    }
    thread_local std::vector<char> buf;
    if (buf.size() < size) buf.resize(size);
    auto n = of->reader->ReadAt(off, buf.data(), size);
    if (!n.ok()) {
      spdlog::error("read: {}", n.status().ToString());
      return (void)fuse_reply_err(req, EIO);
    }
    fuse_reply_buf(req, buf.data(), *n);
  }

  // A request within one chunk: spliced from the chunk's cache file (or answered from the
  // chunk's bytes). False when it spans chunks: the caller copies it through ReadAt.
  bool ReadCached(fuse_req_t req, CachedReader& reader, size_t size, off_t off) {
    if (off >= reader.size()) return fuse_reply_buf(req, nullptr, 0), true;
    size = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(size), reader.size() - off));
    const int64_t index = off / reader.chunk_size();
    const int64_t in = off - index * reader.chunk_size();
    if (in + static_cast<int64_t>(size) > reader.chunk_size()) return false;
    auto chunk = reader.Chunk(index);
    if (!chunk.ok() || (*chunk)->size < static_cast<size_t>(in) + size) {
      spdlog::error("read {} chunk {}: {}", reader.image_id(), index,
                    chunk.ok() ? "short chunk" : chunk.status().ToString());
      return fuse_reply_err(req, EIO), true;
    }
    if ((*chunk)->fd < 0) return fuse_reply_buf(req, (*chunk)->bytes.data() + in, size), true;
    // A read at the start of a chunk: the rest of it is likely next, and the chunk file may
    // be cold (after a restart, or evicted from the page cache): ask the disk for all of it now.
    const auto at = static_cast<off_t>((*chunk)->offset);
    if (in == 0) {
      ::posix_fadvise((*chunk)->fd, at, static_cast<off_t>((*chunk)->size), POSIX_FADV_WILLNEED);
      // And the next chunk, if cached: a reader that waits for each request (O_DIRECT,
      // qemu's cache=none) would otherwise wait for the disk at every chunk's start.
      if (auto next = reader.OpenCached(index + 1); next && next->fd >= 0) {
        ::posix_fadvise(next->fd, static_cast<off_t>(next->offset), static_cast<off_t>(next->size),
                        POSIX_FADV_WILLNEED);
      }
    }
    fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
    bv.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    bv.buf[0].fd = (*chunk)->fd;
    bv.buf[0].pos = at + in;
    fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
    return true;
  }

  void Release(fuse_req_t req, fuse_file_info* fi) {
    CloseFile(reinterpret_cast<OpenFile*>(fi->fh));
    fuse_reply_err(req, 0);
  }

  void CloseFile(OpenFile* of) {
    state_.ReleaseImage(of->image_id);
    passthrough_.Release(dev_fd_, of->ino, of->backing_id);
    if (cache_ && of->reader) cache_->Settle(of->image_id, of->size);
    {
      std::lock_guard<std::mutex> l(open_mu_);
      open_.erase(of);
    }
    delete of;
  }

  void Lseek(fuse_req_t req, off_t off, int whence, fuse_file_info* fi) {
    auto* of = reinterpret_cast<OpenFile*>(fi->fh);
    int fd = of->reader ? of->reader->fd() : -1;
    if (fd >= 0) {
      off_t r = ::lseek(fd, off, whence);
      if (r < 0) return (void)fuse_reply_err(req, errno);
      return (void)fuse_reply_lseek(req, r);
    }
    int64_t size = of->size;
    if (off >= size) return (void)fuse_reply_err(req, ENXIO);
    if (whence == SEEK_DATA) return (void)fuse_reply_lseek(req, off);
    if (whence == SEEK_HOLE) return (void)fuse_reply_lseek(req, size);
    fuse_reply_err(req, EINVAL);
  }

  void GetXattr(fuse_req_t req, fuse_ino_t ino, const std::string& name, size_t size) {
    std::optional<std::string> value;
    if (cache_ && name.rfind("user.glint.cache.", 0) == 0) {
      if (auto image = state_.ImageFor(ino)) value = cache_->Xattr(*image, name);
    }
    if (pins_ && name == kPinXattr && state_.ImageFor(ino)) {
      auto image = state_.ImageFor(ino);
      value = image && pins_->Pinned(image->id) ? "1" : "0";
    }
    if (!value) value = state_.Xattr(ino, name);
    if (!value) return (void)fuse_reply_err(req, ENODATA);
    if (size == 0) return (void)fuse_reply_xattr(req, value->size());
    if (size < value->size()) return (void)fuse_reply_err(req, ERANGE);
    fuse_reply_buf(req, value->data(), value->size());
  }

  // `user.glint.pin` 1/0 (or removed) pins an image in the host cache or unpins it;
  // every other change is refused: the mount is read-only.
  void SetPin(fuse_req_t req, fuse_ino_t ino, const std::string& name, std::optional<std::string> value) {
    std::optional<ImageEntry> image = pins_ && name == kPinXattr ? state_.ImageFor(ino) : std::nullopt;
    if (!image) return (void)fuse_reply_err(req, EROFS);
    int err = 0;
    if (value == "1") {
      err = pins_->Pin(*image);
    } else if (!value || value == "0") {
      pins_->Unpin(image->id);
    } else {
      err = EINVAL;
    }
    fuse_reply_err(req, err);
  }

  void ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    std::string list = state_.XattrNames(ino);
    if (cache_ && !list.empty()) list += HostCache::XattrNames() + kPinXattr + std::string(1, '\0');
    if (size == 0) return (void)fuse_reply_xattr(req, list.size());
    if (size < list.size()) return (void)fuse_reply_err(req, ERANGE);
    fuse_reply_buf(req, list.data(), list.size());
  }

 private:
  ImageView& view_;
  DataSource& source_;
  HostCache* cache_;  // null: no host cache
  const FsOptions opt_;
  std::string mountpoint_;
  std::once_flag readahead_once_;
  std::mutex open_mu_;
  std::unordered_set<OpenFile*> open_;  // what Open handed to the kernel and Release took back
  std::unordered_set<std::vector<DirEntry>*> open_dirs_;  // the same for OpenDir and ReleaseDir
  MountState state_;
  TreeRefresher refresher_;
  std::unique_ptr<ImagePins> pins_;  // with a host cache only
  Passthrough passthrough_;
  int dev_fd_ = -1;  // the session's /dev/fuse (passthrough's backing files are registered there)
};

Fs* Self(fuse_req_t req) { return static_cast<Fs*>(fuse_req_userdata(req)); }

// No exception may cross into libfuse's C code: every op goes through Guard.
template <typename Fn>
void Guard(fuse_req_t req, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    spdlog::error("fuse op failed: {}", e.what());
    fuse_reply_err(req, EIO);
  }
}

void ErofsReply(fuse_req_t req) { fuse_reply_err(req, EROFS); }

void Init(void* userdata, fuse_conn_info* conn) {
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE;
  if (conn->capable & FUSE_CAP_SPLICE_MOVE) conn->want |= FUSE_CAP_SPLICE_MOVE;
  // Image data never changes in place; glint-fs invalidates explicitly on delete.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  conn->max_write = 1 << 20;  // with FUSE_MAX_PAGES this also allows 1 MiB reads
  conn->max_read = 1 << 20;   // must match the max_read mount option
  // The kernel keeps the smaller of this and the bdi's read_ahead_kb (raised later).
  unsigned want_ra = static_cast<unsigned>(std::clamp(static_cast<Fs*>(userdata)->options().kernel_readahead_kb,
                                                      0, 1 << 20)) << 10;
  conn->max_readahead = std::max({conn->max_readahead, 1u << 20, want_ra});
  conn->max_background = 64;
  conn->congestion_threshold = 48;
}

// Everything glint-fs answers: lookups, attributes, directories, reads and xattrs.
void AddReadOps(fuse_lowlevel_ops& ops) {
  ops.init = Init;
  ops.lookup = [](fuse_req_t req, fuse_ino_t parent, const char* name) {
    Guard(req, [&] { Self(req)->Lookup(req, parent, name); });
  };
  ops.forget = [](fuse_req_t req, fuse_ino_t ino, uint64_t n) {
    Self(req)->Forget(ino, n);
    fuse_reply_none(req);
  };
  ops.forget_multi = [](fuse_req_t req, size_t count, fuse_forget_data* forgets) {
    for (size_t i = 0; i < count; ++i) Self(req)->Forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
  };
  ops.getattr = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    Guard(req, [&] { Self(req)->GetAttr(req, ino); });
  };
  ops.readlink = [](fuse_req_t req, fuse_ino_t ino) { Guard(req, [&] { Self(req)->ReadLink(req, ino); }); };
  ops.opendir = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    Guard(req, [&] { Self(req)->OpenDir(req, ino, fi); });
  };
  ops.readdir = [](fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
    Guard(req, [&] { Self(req)->ReadDir(req, size, off, fi); });
  };
  ops.releasedir = [](fuse_req_t req, fuse_ino_t, fuse_file_info* fi) { Self(req)->ReleaseDir(req, fi); };
  ops.open = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    Guard(req, [&] { Self(req)->Open(req, ino, fi); });
  };
  ops.read = [](fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
    Guard(req, [&] { Self(req)->Read(req, size, off, fi); });
  };
  ops.release = [](fuse_req_t req, fuse_ino_t, fuse_file_info* fi) { Self(req)->Release(req, fi); };
  ops.lseek = [](fuse_req_t req, fuse_ino_t, off_t off, int whence, fuse_file_info* fi) {
    Guard(req, [&] { Self(req)->Lseek(req, off, whence, fi); });
  };
  ops.getxattr = [](fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
    Guard(req, [&] { Self(req)->GetXattr(req, ino, name, size); });
  };
  ops.listxattr = [](fuse_req_t req, fuse_ino_t ino, size_t size) {
    Guard(req, [&] { Self(req)->ListXattr(req, ino, size); });
  };
}

// Read-only in every way: every call that would change something answers EROFS.
void AddWriteRefusals(fuse_lowlevel_ops& ops) {
  ops.setattr = [](fuse_req_t req, fuse_ino_t, struct stat*, int, fuse_file_info*) { ErofsReply(req); };
  ops.mknod = [](fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) { ErofsReply(req); };
  ops.mkdir = [](fuse_req_t req, fuse_ino_t, const char*, mode_t) { ErofsReply(req); };
  ops.unlink = [](fuse_req_t req, fuse_ino_t, const char*) { ErofsReply(req); };
  ops.rmdir = [](fuse_req_t req, fuse_ino_t, const char*) { ErofsReply(req); };
  ops.symlink = [](fuse_req_t req, const char*, fuse_ino_t, const char*) { ErofsReply(req); };
  ops.rename = [](fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) { ErofsReply(req); };
  ops.link = [](fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { ErofsReply(req); };
  ops.write = [](fuse_req_t req, fuse_ino_t, const char*, size_t, off_t, fuse_file_info*) { ErofsReply(req); };
  ops.create = [](fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) { ErofsReply(req); };
  ops.setxattr = [](fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int) {
    Guard(req, [&] { Self(req)->SetPin(req, ino, name, std::string(value, size)); });
  };
  ops.removexattr = [](fuse_req_t req, fuse_ino_t ino, const char* name) {
    Guard(req, [&] { Self(req)->SetPin(req, ino, name, std::nullopt); });
  };
  ops.fallocate = [](fuse_req_t req, fuse_ino_t, int, off_t, off_t, fuse_file_info*) { ErofsReply(req); };
  ops.copy_file_range = [](fuse_req_t req, fuse_ino_t, off_t, fuse_file_info*, fuse_ino_t, off_t,
                           fuse_file_info*, size_t, int) { ErofsReply(req); };
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops = {};
  AddReadOps(ops);
  AddWriteRefusals(ops);
  return ops;
}

// The session's lifecycle in one place: new, signal handlers, mount, loop, unmount, destroy.
class FuseSession {
 public:
  FuseSession(const std::vector<std::string>& argv, Fs* fs) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    fuse_args fa = FUSE_ARGS_INIT(static_cast<int>(args.size()), args.data());
    static const fuse_lowlevel_ops kOps = MakeOps();
    se_ = fuse_session_new(&fa, &kOps, sizeof kOps, fs);
    // Option parsing may have copied the arguments into memory libfuse allocated: ours to free
    // (LeakSanitizer found it).
    fuse_opt_free_args(&fa);
  }
  ~FuseSession() {
    if (!se_) return;
    if (mounted_) fuse_session_unmount(se_);
    if (signals_) fuse_remove_signal_handlers(se_);
    fuse_session_destroy(se_);
  }
  fuse_session* get() const { return se_; }
  bool Mount(const std::string& mountpoint) {
    if (!se_) return false;
    if (fuse_set_signal_handlers(se_) != 0) return false;
    signals_ = true;
    mounted_ = fuse_session_mount(se_, mountpoint.c_str()) == 0;
    // Passthrough's hook on the session's own descriptor (libfuse then reads and writes
    // through it, splicing replies as it would).
    if (mounted_ && fuse_session_custom_io(se_, &kIo, fuse_session_fd(se_)) != 0) {
      spdlog::warn("glint-fs: no custom I/O hook: FUSE passthrough off");
    }
    return mounted_;
  }
  int Loop(int max_threads) {
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, static_cast<unsigned>(max_threads));
    // Idle workers stay: libfuse would otherwise end and start threads (and their splice
    // pipes) on every burst of reads.
    fuse_loop_cfg_set_idle_threads(cfg, static_cast<unsigned>(max_threads));
    int rc = fuse_session_loop_mt(se_, cfg);
    fuse_loop_cfg_destroy(cfg);
    // libfuse's handlers end the loop with the signal's number as its result: a stop asked
    // by SIGTERM, SIGINT or SIGHUP is a clean exit (status 0, which service managers
    // expect), as is an unmount.
    if (rc == SIGTERM || rc == SIGINT || rc == SIGHUP) return 0;
    return rc;
  }

 private:
  static constexpr fuse_custom_io kIo = {
      [](int fd, iovec* iov, int count, void* fs) { return static_cast<Fs*>(fs)->passthrough().Writev(fd, iov, count); },
      [](int fd, void* buf, size_t len, void* fs) { return static_cast<Fs*>(fs)->passthrough().Read(fd, buf, len); },
      nullptr,  // requests are read whole: glint-fs takes no writes to splice
      [](int in, off_t* in_off, int out, off_t* out_off, size_t len, unsigned flags, void*) {
        return ::splice(in, in_off, out, out_off, len, flags);
      },
  };
  fuse_session* se_ = nullptr;
  bool signals_ = false, mounted_ = false;
};

}  // namespace

mode_t DirModeFor(mode_t file_mode) { return (file_mode & 0444) | ((file_mode & 0444) >> 2); }

int RunGlintFs(const std::string& mountpoint, ImageView& view, DataSource& source,
               const FsOptions& options, HostCache* cache) {
  Fs fs(view, source, options, cache);
  EnsurePipeMaxSize(2 << 20);  // a 1 MiB reply and its header, spliced
  // default_permissions: the kernel checks the owner, group and modes MountState reports.
  // With a host cache the kernel must let setxattr (pinning) through: the mount is then not
  // flagged `ro`, and glint-fs itself refuses every write (EROFS) as it always does.
  std::string opts = std::string(cache ? "" : "ro,") + "fsname=glint,subtype=glint,default_permissions,max_read=1048576";
  if (options.allow_other) opts += ",allow_other";
  for (const auto& o : options.mount_options) opts += "," + o;
  FuseSession session({"glint-fs", "-o", opts}, &fs);
  if (!session.get()) {
    spdlog::critical("cannot create the FUSE session");
    return 1;
  }
  // Resolved before mounting: afterwards, looking at the mount root would wait for a
  // FUSE loop that has not started yet.
  std::error_code ec;
  auto canonical = std::filesystem::canonical(mountpoint, ec);
  fs.SetMountpoint(ec ? mountpoint : canonical.string());
  if (!session.Mount(mountpoint)) {
    spdlog::critical("cannot mount at {}", mountpoint);
    return 1;
  }
  fs.Start(session.get());
  spdlog::info("glint-fs mounted at {} (API {})", mountpoint, view.api_url());
  int rc = session.Loop(options.max_threads);
  fs.Stop();
  spdlog::info("glint-fs unmounting {}", mountpoint);
  return rc == 0 ? 0 : 1;
}

}  // namespace glint::fs
