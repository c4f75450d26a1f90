// store::Backend: where image bytes live. One implementation per kind of store
// (file now, rbd next, memory for unit tests), reached only through the factories below.
//
// A Backend is shared by all threads; Writers and Readers are used by one thread at a
// time (the upload pipeline's write strand, a download, a FUSE read). Calls block: they
// run on worker threads, never on the server's network threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/outbound_fetch.h"
#include "common/status.h"

namespace glint::store {

// Sequential writer of one upload. Until Commit() the data is invisible (a partial
// object named by the upload token); Abort() or destruction without Commit() removes it.
class Writer {
 public:
  virtual ~Writer() = default;
  virtual Status Write(const char* data, size_t len) = 0;
  // Makes the data durable and visible under the image id; returns the location URL.
  virtual Result<std::string> Commit() = 0;
  virtual void Abort() = 0;
};

class Reader {
 public:
  virtual ~Reader() = default;
  virtual int64_t size() const = 0;
  // Short reads only at the end of the data.
  virtual Result<size_t> ReadAt(int64_t offset, char* buf, size_t len) = 0;
  // A file descriptor positioned nowhere in particular, for zero-copy paths
  // (sendfile, splice); -1 when the backend has none.
  virtual int fd() const { return -1; }
};

// An object the store holds, as seen by the startup sweep.
struct StoredObject {
  std::string name;          // backend-specific handle for DeleteObject
  std::string image_id;      // the image it belongs to
  std::string upload_token;  // non-empty for a partial (uncommitted) upload
};

class Backend {
 public:
  virtual ~Backend() = default;
  // The store id (multi-store) and URL scheme of its locations ("file", "rbd", ...).
  virtual const std::string& id() const = 0;
  virtual bool OwnsLocation(const std::string& url) const = 0;
  // A store of remote data (http): it holds no image's data of its own, cannot be written,
  // and deleting a location of it deletes nothing.
  virtual bool ReadOnly() const { return false; }

  virtual Result<std::unique_ptr<Writer>> NewWriter(const std::string& image_id,
                                                    const std::string& upload_token) = 0;
  virtual Result<std::unique_ptr<Reader>> Open(const std::string& location) = 0;
  // Idempotent: deleting data that is already gone succeeds. Conflict when the data is
  // in use elsewhere (an RBD snapshot with clones, an image open by a client): nothing
  // is deleted then.
  virtual Status Delete(const std::string& location) = 0;
  // Whether Delete would succeed now (Conflict if the data is in use); lets the API refuse
  // an image delete before touching the catalog, as Glance's InUseByStore does.
  virtual Status CheckDeletable(const std::string& location) { return Status::Ok(); }

  virtual Result<std::vector<StoredObject>> ListObjects() = 0;
  virtual Status DeleteObject(const StoredObject& object) = 0;
  // The location a committed object of `image_id` has in this store.
  virtual std::string LocationFor(const std::string& image_id) const = 0;
};

// Glance-compatible file store: <datadir>/<image id>, location file://<datadir>/<id>.
// All-zero blocks are not written, so sparse images stay sparse.
Result<std::unique_ptr<Backend>> NewFileBackend(const std::string& id, const std::string& datadir);
// Ceph RBD store laid out as Glance's rbd driver lays it out: one RBD image per Glance
// image, named by its id, in `pool`, with a protected snapshot `snap`; location
// rbd://<fsid>/<pool>/<id>/snap. Uploads write into `<id>.glint-upload-<token>` and are
// renamed when complete.
struct RbdOptions {
  std::string pool = "images";
  std::string user;            // cephx id without "client."; "" = librados default
  std::string ceph_conf;       // "" = librados' default search
  int chunk_size_mib = 8;      // object size (rbd_store_chunk_size)
  bool thin_provisioning = true;  // skip writing all-zero chunks
  int max_inflight = 4;        // asynchronous writes in flight per upload
  int op_timeout_seconds = 60; // an OSD or monitor that does not answer fails the call
};
Result<std::unique_ptr<Backend>> NewRbdBackend(const std::string& id, const RbdOptions& options);

// Glance's read-only http store: http(s) locations read through the outbound filter.
std::unique_ptr<Backend> NewHttpBackend(const std::string& id, const client::OutboundOptions& options);

// Keeps everything in memory; for unit tests.
std::unique_ptr<Backend> NewMemoryBackend(const std::string& id = "memory");

}  // namespace glint::store
