// The Ceph RBD store on librados/librbd (C API). Handles are owned by small move-only
// classes whose member order closes the image before the ioctx before the cluster.
#include <rados/librados.h>
#include <rbd/librbd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>

#include "common/ids.h"
#include "store/backend.h"

namespace glint::store {
namespace {

const std::string kPartialMark = ".glint-upload-";
const char* kSnap = "snap";

Status RbdError(int rc, const std::string& what) {
  int err = rc < 0 ? -rc : rc;
  // ETIMEDOUT: an OSD or monitor did not answer. EROFS/ESHUTDOWN: librbd lost the image's
  // exclusive lock or this client was blocklisted, which a dead OSD also causes.
  if (err == ETIMEDOUT || err == EROFS || err == ESHUTDOWN) {
    return Status::Unavailable(what + ": " + std::strerror(err) +
                               " (the Ceph cluster did not answer in time; is an OSD down?)");
  }
  return Status::FromErrno(err, what);
}

std::string Quote(const std::string& s) { return PercentEncode(s); }

class Cluster {
 public:
  Cluster() = default;
  Cluster(const Cluster&) = delete;
  ~Cluster() {
    if (io_) rados_ioctx_destroy(io_);
    if (cluster_) rados_shutdown(cluster_);
  }
  Status Connect(const RbdOptions& o) {
    int rc = rados_create(&cluster_, o.user.empty() ? nullptr : o.user.c_str());
    if (rc < 0) return RbdError(rc, "rados_create");
    rc = rados_conf_read_file(cluster_, o.ceph_conf.empty() ? nullptr : o.ceph_conf.c_str());
    if (rc < 0) return RbdError(rc, "read ceph config " + o.ceph_conf);
    // Without these a dead OSD makes I/O wait forever and an upload would hang.
    std::string timeout = std::to_string(o.op_timeout_seconds);
    rados_conf_set(cluster_, "rados_osd_op_timeout", timeout.c_str());
    rados_conf_set(cluster_, "rados_mon_op_timeout", timeout.c_str());
    rados_conf_set(cluster_, "client_mount_timeout", timeout.c_str());
    rc = rados_connect(cluster_);
    if (rc < 0) return Status::Unavailable("cannot connect to the Ceph cluster: " + std::string(strerror(-rc)));
    rc = rados_ioctx_create(cluster_, o.pool.c_str(), &io_);
    if (rc < 0) return RbdError(rc, "open pool " + o.pool);
    char fsid[64] = {0};
    rc = rados_cluster_fsid(cluster_, fsid, sizeof fsid);
    if (rc < 0) return RbdError(rc, "cluster fsid");
    fsid_.assign(fsid, static_cast<size_t>(rc));
    return Status::Ok();
  }
  rados_ioctx_t io() const { return io_; }
  const std::string& fsid() const { return fsid_; }

 private:
  rados_t cluster_ = nullptr;
  rados_ioctx_t io_ = nullptr;
  std::string fsid_;
};

class Image {
 public:
  Image() = default;
  Image(Image&& o) noexcept : image_(o.image_) { o.image_ = nullptr; }
  Image(const Image&) = delete;
  ~Image() { (void)Close(); }
  Status Open(rados_ioctx_t io, const std::string& name, const char* snap, bool read_only) {
    int rc = read_only ? rbd_open_read_only(io, name.c_str(), &image_, snap)
                       : rbd_open(io, name.c_str(), &image_, snap);
    if (rc < 0) {
      image_ = nullptr;
      return RbdError(rc, "open rbd image " + name);
    }
    return Status::Ok();
  }
  Status Close() {
    if (!image_) return Status::Ok();
    int rc = rbd_close(image_);
    image_ = nullptr;
    return rc < 0 ? RbdError(rc, "close rbd image") : Status::Ok();
  }
  rbd_image_t get() const { return image_; }

 private:
  rbd_image_t image_ = nullptr;
};

struct Inflight {
  rbd_completion_t completion = nullptr;
  std::unique_ptr<char[]> buf;
};

class RbdWriter final : public Writer {
 public:
  RbdWriter(std::shared_ptr<Cluster> c, const RbdOptions& o, std::string id, std::string partial,
            std::string location)
      : cluster_(std::move(c)), opt_(o), id_(std::move(id)), partial_(std::move(partial)),
        location_(std::move(location)), object_(static_cast<size_t>(o.chunk_size_mib) << 20) {}
  ~RbdWriter() override {
    if (!committed_) Abort();
  }

  Status Start() {
    rbd_image_options_t opts;
    rbd_image_options_create(&opts);
    int order = 0;
    for (size_t s = object_; s > 1; s >>= 1) ++order;
    rbd_image_options_set_uint64(opts, RBD_IMAGE_OPTION_ORDER, static_cast<uint64_t>(order));
    int rc = rbd_create4(cluster_->io(), partial_.c_str(), 0, opts);
    rbd_image_options_destroy(opts);
    if (rc < 0) return RbdError(rc, "create rbd image " + partial_);
    created_ = true;
    return image_.Open(cluster_->io(), partial_, nullptr, false);
  }

  Status Write(const char* data, size_t len) override {
    while (len > 0) {
      if (!pending_) pending_.reset(new char[object_]);
      size_t n = std::min(len, object_ - pending_len_);
      std::memcpy(pending_.get() + pending_len_, data, n);
      pending_len_ += n;
      data += n;
      len -= n;
      if (pending_len_ == object_) GLINT_RETURN_IF_ERROR(FlushPending());
    }
    return Status::Ok();
  }

  Result<std::string> Commit() override {
    GLINT_RETURN_IF_ERROR(FlushPending());
    GLINT_RETURN_IF_ERROR(Drain(0));
    int rc = rbd_resize(image_.get(), offset_);
    if (rc < 0) return RbdError(rc, "resize " + partial_);
    rc = rbd_flush(image_.get());
    if (rc < 0) return RbdError(rc, "flush " + partial_);
    GLINT_RETURN_IF_ERROR(image_.Close());
    rc = rbd_rename(cluster_->io(), partial_.c_str(), id_.c_str());
    if (rc < 0) return RbdError(rc, "rename " + partial_);
    committed_ = true;
    Image final_image;
    GLINT_RETURN_IF_ERROR(final_image.Open(cluster_->io(), id_, nullptr, false));
    rc = rbd_snap_create(final_image.get(), kSnap);
    if (rc < 0) return RbdError(rc, "snapshot " + id_);
    rc = rbd_snap_protect(final_image.get(), kSnap);
    if (rc < 0) return RbdError(rc, "protect snapshot of " + id_);
    GLINT_RETURN_IF_ERROR(final_image.Close());
    return location_;
  }

  void Abort() override {
    if (committed_ || aborted_) return;
    aborted_ = true;
    (void)Drain(0);
    (void)image_.Close();
    if (created_) rbd_remove(cluster_->io(), partial_.c_str());
  }

 private:
  Status FlushPending() {
    if (pending_len_ == 0) return Status::Ok();
    size_t len = pending_len_;
    uint64_t off = offset_;
    offset_ += len;
    pending_len_ = 0;
    bool zero = opt_.thin_provisioning && pending_[0] == 0 &&
                std::memcmp(pending_.get(), pending_.get() + 1, len - 1) == 0;
    if (zero) return Status::Ok();  // the image is thin: unwritten ranges read as zeros
    if (off + len > size_) {
      GLINT_RETURN_IF_ERROR(Drain(0));
      uint64_t want = std::max<uint64_t>(size_ * 2, off + len);
      want = (want + object_ - 1) / object_ * object_;
      int rc = rbd_resize(image_.get(), want);
      if (rc < 0) return RbdError(rc, "grow " + partial_);
      size_ = want;
    }
    GLINT_RETURN_IF_ERROR(Drain(static_cast<size_t>(opt_.max_inflight) - 1));
    Inflight w;
    w.buf = std::move(pending_);
    int rc = rbd_aio_create_completion(nullptr, nullptr, &w.completion);
    if (rc < 0) return RbdError(rc, "aio completion");
    rc = rbd_aio_write(image_.get(), off, len, w.buf.get(), w.completion);
    if (rc < 0) {
      rbd_aio_release(w.completion);
      return RbdError(rc, "write " + partial_);
    }
    inflight_.push_back(std::move(w));
    return Status::Ok();
  }

  // Waits until at most `keep` writes are in flight; the first error wins.
  Status Drain(size_t keep) {
    Status first;
    while (inflight_.size() > keep) {
      Inflight w = std::move(inflight_.front());
      inflight_.pop_front();
      rbd_aio_wait_for_complete(w.completion);
      ssize_t rc = rbd_aio_get_return_value(w.completion);
      rbd_aio_release(w.completion);
      if (rc < 0 && first.ok()) first = RbdError(static_cast<int>(rc), "write " + partial_);
    }
    return first;
  }

  std::shared_ptr<Cluster> cluster_;
  RbdOptions opt_;
  std::string id_, partial_, location_;
  size_t object_;
  Image image_;
  std::unique_ptr<char[]> pending_;
  size_t pending_len_ = 0;
  uint64_t offset_ = 0, size_ = 0;
  std::deque<Inflight> inflight_;
  bool created_ = false, committed_ = false, aborted_ = false;
};

class RbdReader final : public Reader {
 public:
  RbdReader(std::shared_ptr<Cluster> c, Image image, int64_t size)
      : cluster_(std::move(c)), image_(std::move(image)), size_(size) {}
  int64_t size() const override { return size_; }
  Result<size_t> ReadAt(int64_t offset, char* buf, size_t len) override {
    if (offset >= size_) return size_t{0};
    len = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(len), size_ - offset));
    size_t got = 0;
    while (got < len) {
      ssize_t n = rbd_read(image_.get(), static_cast<uint64_t>(offset) + got, len - got, buf + got);
      if (n < 0) return RbdError(static_cast<int>(n), "read rbd image");
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    return got;
  }

 private:
  std::shared_ptr<Cluster> cluster_;  // declared first: destroyed after the image
  Image image_;
  int64_t size_;
};

class RbdBackend final : public Backend {
 public:
  RbdBackend(std::string id, RbdOptions o, std::shared_ptr<Cluster> c)
      : id_(std::move(id)), opt_(std::move(o)), cluster_(std::move(c)) {
    prefix_ = "rbd://" + Quote(cluster_->fsid()) + "/" + Quote(opt_.pool) + "/";
  }
  const std::string& id() const override { return id_; }
  bool OwnsLocation(const std::string& url) const override { return ImageOf(url).ok(); }
  std::string LocationFor(const std::string& image_id) const override {
    return prefix_ + Quote(image_id) + "/" + kSnap;
  }

  Result<std::unique_ptr<Writer>> NewWriter(const std::string& image_id,
                                            const std::string& token) override {
    if (!IsUuid(image_id) || token.empty() || token.find('/') != std::string::npos) {
      return Status::InvalidArgument("invalid image id or upload token");
    }
    auto w = std::make_unique<RbdWriter>(cluster_, opt_, image_id, image_id + kPartialMark + token,
                                         LocationFor(image_id));
    GLINT_RETURN_IF_ERROR(w->Start());
    return std::unique_ptr<Writer>(std::move(w));
  }

  Result<std::unique_ptr<Reader>> Open(const std::string& location) override {
    auto name = ImageOf(location);
    if (!name.ok()) return name.status();
    Image image;
    GLINT_RETURN_IF_ERROR(image.Open(cluster_->io(), *name, kSnap, true));
    uint64_t size = 0;
    int rc = rbd_get_size(image.get(), &size);
    if (rc < 0) return RbdError(rc, "size of " + *name);
    return std::unique_ptr<Reader>(new RbdReader(cluster_, std::move(image), static_cast<int64_t>(size)));
  }

  Status CheckDeletable(const std::string& location) override {
    auto name = ImageOf(location);
    if (!name.ok()) return name.status();
    Image image;
    Status s = image.Open(cluster_->io(), *name, nullptr, true);
    if (s.code() == Status::Code::kNotFound) return Status::Ok();
    GLINT_RETURN_IF_ERROR(s);
    if (rbd_snap_set(image.get(), kSnap) == 0) {
      rbd_linked_image_spec_t children[16];
      size_t max = 16;
      int rc = rbd_list_children3(image.get(), children, &max);
      if (rc == -ERANGE || (rc >= 0 && max > 0)) {
        if (rc >= 0) rbd_linked_image_spec_list_cleanup(children, max);
        return Status::Conflict("Image " + *name + " is in use: its snapshot has clones "
                                "(volumes or servers created from it)");
      }
      rbd_snap_set(image.get(), nullptr);
    }
    rbd_image_watcher_t watchers[16];
    size_t count = 16;
    int rc = rbd_watchers_list(image.get(), watchers, &count);
    if (rc == -ERANGE || (rc >= 0 && count > 0)) {
      if (rc >= 0) rbd_watchers_list_cleanup(watchers, count);
      return Status::Conflict("Image " + *name + " is in use: it is open by another client");
    }
    return Status::Ok();
  }

  Status Delete(const std::string& location) override {
    auto name = ImageOf(location);
    if (!name.ok()) return name.status();
    return RemoveImage(*name);
  }

  Result<std::vector<StoredObject>> ListObjects() override {
    std::vector<rbd_image_spec_t> specs(64);
    size_t max = specs.size();
    int rc;
    while ((rc = rbd_list2(cluster_->io(), specs.data(), &max)) == -ERANGE) specs.resize(max);
    if (rc < 0) return RbdError(rc, "list pool " + opt_.pool);
    std::vector<StoredObject> out;
    for (size_t i = 0; i < max; ++i) {
      std::string name = specs[i].name;
      size_t mark = name.find(kPartialMark);
      if (mark == 36 && IsUuid(name.substr(0, 36))) {
        out.push_back({name, name.substr(0, 36), name.substr(36 + kPartialMark.size())});
      } else if (IsUuid(name)) {
        out.push_back({name, name, ""});
      }
    }
    rbd_image_spec_list_cleanup(specs.data(), max);
    return out;
  }

  Status DeleteObject(const StoredObject& object) override { return RemoveImage(object.name); }

 private:
  Result<std::string> ImageOf(const std::string& url) const {
    if (url.rfind(prefix_, 0) != 0) return Status::InvalidArgument("location " + url + " is not in rbd store " + id_);
    std::string rest = url.substr(prefix_.size());
    size_t slash = rest.find('/');
    std::string image = rest.substr(0, slash);
    if (!IsUuid(image) || slash == std::string::npos || rest.substr(slash + 1) != kSnap) {
      return Status::InvalidArgument("location " + url + " is not an image snapshot of this store");
    }
    return image;
  }

  // Unprotects and removes snapshots, then the image. Conflict (nothing removed) when
  // clones or watchers hold it.
  Status RemoveImage(const std::string& name) {
    {
      Image image;
      Status s = image.Open(cluster_->io(), name, nullptr, false);
      if (s.code() == Status::Code::kNotFound) return Status::Ok();
      GLINT_RETURN_IF_ERROR(s);
      rbd_snap_info_t snaps[16];
      int max = 16;
      int n = rbd_snap_list(image.get(), snaps, &max);
      if (n < 0) return RbdError(n, "list snapshots of " + name);
      std::vector<std::string> names;
      for (int i = 0; i < n; ++i) names.emplace_back(snaps[i].name);
      rbd_snap_list_end(snaps);
      for (const auto& snap : names) {
        int is_protected = 0;
        rbd_snap_is_protected(image.get(), snap.c_str(), &is_protected);
        if (is_protected) {
          int rc = rbd_snap_unprotect(image.get(), snap.c_str());
          if (rc == -EBUSY) {
            return Status::Conflict("Image " + name + " is in use: its snapshot has clones");
          }
          if (rc < 0) return RbdError(rc, "unprotect " + name + "@" + snap);
        }
        int rc = rbd_snap_remove(image.get(), snap.c_str());
        if (rc < 0 && rc != -ENOENT) return RbdError(rc, "remove snapshot " + name + "@" + snap);
      }
    }
    int rc = rbd_remove(cluster_->io(), name.c_str());
    if (rc == -ENOENT) return Status::Ok();
    if (rc == -EBUSY) return Status::Conflict("Image " + name + " is in use: it is open by another client");
    if (rc < 0) return RbdError(rc, "remove rbd image " + name);
    return Status::Ok();
  }

  std::string id_;
  RbdOptions opt_;
  std::shared_ptr<Cluster> cluster_;
  std::string prefix_;
};

}  // namespace

Result<std::unique_ptr<Backend>> NewRbdBackend(const std::string& id, const RbdOptions& options) {
  auto cluster = std::make_shared<Cluster>();
  GLINT_RETURN_IF_ERROR(cluster->Connect(options));
  return std::unique_ptr<Backend>(new RbdBackend(id, options, std::move(cluster)));
}

}  // namespace glint::store
