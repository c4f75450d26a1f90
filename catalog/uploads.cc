// Data transfers under a catalog-row lock (a token, the holding node, an expiry): uploads
// (queued -> saving -> active), stages (queued -> uploading) and imports (uploading ->
// importing -> active). The lock is a row, so two API nodes never write one image.
#include <string>

#include "catalog/sql_catalog.h"
#include "catalog/image_rows.h"
#include "common/ids.h"

namespace glint::catalog {

using sql::Db;
using sql::Transaction;

Status SqlCatalog::BeginUpload(const UploadLock& lock, int64_t expires_at) {
  return LockedTransition(lock, expires_at, kQueued, kSaving, false,
                          "Image " + lock.image_id + " is already receiving data from another upload");
}

Status SqlCatalog::RenewUpload(const UploadLock& lock, int64_t expires_at) {
  return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(
        "UPDATE images SET upload_expires = ? WHERE id = ? AND upload_token = ? "
        "AND status IN ('saving', 'uploading', 'importing')");
    if (!st.ok()) return st.status();
    st->Bind(1, expires_at);
    st->Bind(2, lock.image_id);
    st->Bind(3, lock.token);
    GLINT_RETURN_IF_ERROR(st->Run());
    if (db.Changes() == 0) return Status::Conflict("upload lock on " + lock.image_id + " lost");
    return Status::Ok();
  });
}

Status SqlCatalog::CompleteUpload(const UploadLock& lock, const ImageRecord& facts,
                                  const ImageLocation& location, const ChunkManifest* manifest) {
  return pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    int64_t now = NowMicros();
    auto st = db.Prepare(
        "UPDATE images SET status = 'active', size = ?, virtual_size = ?, checksum = ?, "
        "os_hash_algo = ?, os_hash_value = ?, updated_at = ?, activated_at = ?, "
        "upload_token = NULL, upload_node = NULL, upload_expires = NULL, "
        "version = version + 1 "
        "WHERE id = ? AND upload_token = ? AND status IN ('saving', 'importing') AND deleted = 0");
    if (!st.ok()) return st.status();
    int i = 1;
    st->Bind(i++, facts.size);
    st->Bind(i++, facts.virtual_size);
    st->Bind(i++, facts.checksum);
    st->Bind(i++, facts.os_hash_algo);
    st->Bind(i++, facts.os_hash_value);
    st->Bind(i++, now);
    st->Bind(i++, now);
    st->Bind(i++, lock.image_id);
    st->Bind(i++, lock.token);
    GLINT_RETURN_IF_ERROR(st->Run());
    if (db.Changes() == 0) {
      return Status::Conflict("Image " + lock.image_id +
                              " was deleted or its upload was cancelled during the upload");
    }
    GLINT_RETURN_IF_ERROR(InsertLocation(db, lock.image_id, location));
    GLINT_RETURN_IF_ERROR(SetProperties(db, lock.image_id, facts.properties));
    if (manifest) {
      // A manifest left by an earlier life of this id cannot exist (ids are never reused),
      // but one must never describe other data: the new one replaces it.
      GLINT_RETURN_IF_ERROR(DeleteManifest(db, lock.image_id));
      GLINT_RETURN_IF_ERROR(InsertManifest(db, *manifest));
    }
    return tx.Commit();
  });
}

Status SqlCatalog::AbortUpload(const UploadLock& lock) {
  return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(
        "UPDATE images SET status = 'queued', size = NULL, upload_token = NULL, upload_node = NULL, "
        "upload_expires = NULL, updated_at = ?, version = version + 1 "
        "WHERE id = ? AND upload_token = ? AND status IN ('saving', 'uploading', 'importing')");
    if (!st.ok()) return st.status();
    st->Bind(1, NowMicros());
    st->Bind(2, lock.image_id);
    st->Bind(3, lock.token);
    return st->Run();
  });
}

Status SqlCatalog::LockedTransition(const UploadLock& lock, int64_t expires_at, const char* from,
                                       const char* to, bool must_be_unlocked, const std::string& busy) {
  return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(std::string("UPDATE images SET status = ?, upload_token = ?, upload_node = ?, "
                                     "upload_expires = ?, updated_at = ?, version = version + 1 "
                                     "WHERE id = ? AND status = ? AND deleted = 0") +
                         (must_be_unlocked ? " AND upload_token IS NULL" : ""));
    if (!st.ok()) return st.status();
    st->Bind(1, to);
    st->Bind(2, lock.token);
    st->Bind(3, lock.node_id);
    st->Bind(4, expires_at);
    st->Bind(5, NowMicros());
    st->Bind(6, lock.image_id);
    st->Bind(7, from);
    GLINT_RETURN_IF_ERROR(st->Run());
    if (db.Changes() == 1) return Status::Ok();
    auto cur = db.Prepare("SELECT status, upload_token FROM images WHERE id = ? AND deleted = 0");
    if (!cur.ok()) return cur.status();
    cur->Bind(1, lock.image_id);
    auto row = cur->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("No image found with ID " + lock.image_id);
    std::string status = cur->Text(0);
    if (status == from) {
      return Status::Conflict("New operation on image '" + lock.image_id +
                              "' is not permitted as prior operation is still in progress");
    }
    if (status == to && !busy.empty()) return Status::Conflict(busy);
    return Status::Conflict("Image status transition from " + status + " to " + to + " is not allowed");
  });
}

Status SqlCatalog::BeginStage(const UploadLock& lock, int64_t expires_at) {
  return LockedTransition(lock, expires_at, kQueued, kUploading, false);
}

Status SqlCatalog::BeginImport(const UploadLock& lock, int64_t expires_at) {
  return LockedTransition(lock, expires_at, kUploading, kImporting, true);
}

Status SqlCatalog::BeginWebDownload(const UploadLock& lock, int64_t expires_at) {
  return LockedTransition(lock, expires_at, kQueued, kImporting, true);
}

Status SqlCatalog::FinishStage(const UploadLock& lock, int64_t size) {
  return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(
        "UPDATE images SET size = ?, upload_token = NULL, upload_node = NULL, upload_expires = NULL, "
        "updated_at = ?, version = version + 1 WHERE id = ? AND upload_token = ? AND status = 'uploading'");
    if (!st.ok()) return st.status();
    st->Bind(1, size);
    st->Bind(2, NowMicros());
    st->Bind(3, lock.image_id);
    st->Bind(4, lock.token);
    GLINT_RETURN_IF_ERROR(st->Run());
    if (db.Changes() == 0) return Status::Conflict("Image " + lock.image_id + " was deleted while staging");
    return Status::Ok();
  });
}

Status SqlCatalog::ReleaseImport(const UploadLock& lock) {
  return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(
        "UPDATE images SET status = 'uploading', upload_token = NULL, upload_node = NULL, "
        "upload_expires = NULL, updated_at = ?, version = version + 1 "
        "WHERE id = ? AND upload_token = ? AND status = 'importing'");
    if (!st.ok()) return st.status();
    st->Bind(1, NowMicros());
    st->Bind(2, lock.image_id);
    st->Bind(3, lock.token);
    return st->Run();
  });
}

}  // namespace glint::catalog
