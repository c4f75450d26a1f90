// Recovery after crashes and lost nodes: releasing stale transfer locks, failing
// interrupted tasks, and telling the startup sweep which store objects are still owned.
#include <string>
#include <vector>

#include "catalog/sql_catalog.h"
#include "catalog/image_rows.h"

namespace glint::catalog {

using sql::Db;
using sql::Transaction;

namespace {

// A transfer lock to release, and the status its image was in.
struct StaleLock {
  UploadLock lock;
  std::string status;
  bool no_size = false;  // importing without staged data: a web-download
};

// Locks held by `node_id` (it restarted) or expired before `now`, and saving images
// that hold no lock at all.
Result<std::vector<StaleLock>> SelectStaleLocks(Db& db, const std::string& node_id, int64_t now) {
  auto sel = db.Prepare(
      "SELECT id, upload_token, upload_node, status, size IS NULL FROM images WHERE deleted = 0 AND ("
      "(status = 'saving' AND (upload_node = ? OR upload_expires < ? OR upload_token IS NULL)) OR "
      "(status IN ('uploading', 'importing') AND upload_token IS NOT NULL AND "
      "(upload_node = ? OR upload_expires < ?)))");
  if (!sel.ok()) return sel.status();
  sel->Bind(1, node_id);
  sel->Bind(2, now);
  sel->Bind(3, node_id);
  sel->Bind(4, now);
  std::vector<StaleLock> stale;
  for (;;) {
    auto row = sel->Step();
    if (!row.ok()) return row.status();
    if (!*row) return stale;
    stale.push_back({{sel->Text(0), sel->OptText(1).value_or(""), sel->OptText(2).value_or("")},
                     sel->Text(3), sel->Int(4) != 0});
  }
}

Status PurgeExpiredTasks(Db& db, int64_t now) {
  auto purge = db.Prepare("DELETE FROM tasks WHERE expires_at < ?");  // Glance hides them too
  if (!purge.ok()) return purge.status();
  purge->Bind(1, now);
  return purge->Run();
}

// Copies (task locks) of a restarted node, or whose lock expired, failed; their ids leave
// their images' os_glance_import_task.
Status FailInterruptedCopies(Db& db, const std::string& node_id, int64_t now) {
  static const char* kInterrupted =
      "SELECT id FROM tasks WHERE status IN ('pending', 'processing') AND lock_token IS NOT NULL AND "
      "(lock_node = ? OR lock_expires < ?)";
  auto bump = db.Prepare(std::string("UPDATE images SET version = version + 1 WHERE id IN (SELECT p.image_id FROM "
                                     "image_properties p WHERE p.name = 'os_glance_import_task' AND p.value IN (") +
                         kInterrupted + "))");
  if (!bump.ok()) return bump.status();
  bump->Bind(1, node_id);
  bump->Bind(2, now);
  GLINT_RETURN_IF_ERROR(bump->Run());
  auto drop = db.Prepare(std::string("DELETE FROM image_properties WHERE name = 'os_glance_import_task' AND value IN (") +
                         kInterrupted + ")");
  if (!drop.ok()) return drop.status();
  drop->Bind(1, node_id);
  drop->Bind(2, now);
  GLINT_RETURN_IF_ERROR(drop->Run());
  auto t = db.Prepare(
      "UPDATE tasks SET status = 'failure', message = 'the task was interrupted (node restarted or lost); "
      "run it again', lock_token = NULL, updated_at = ?, expires_at = ? WHERE status IN "
      "('pending', 'processing') AND lock_token IS NOT NULL AND (lock_node = ? OR lock_expires < ?)");
  if (!t.ok()) return t.status();
  t->Bind(1, now);
  t->Bind(2, now + kFinishedTaskLifetimeMicros);
  t->Bind(3, node_id);
  t->Bind(4, now);
  return t->Run();
}

// An interrupted import keeps its staged data: back to uploading, to be imported again;
// an interrupted upload, stage or web-download has nothing: back to queued. An
// interrupted import's task fails.
Status ReleaseStaleLock(Db& db, const StaleLock& stale, int64_t now) {
  bool had_task = stale.status == kImporting;
  bool import = had_task && !stale.no_size;
  auto up = db.Prepare(
      std::string("UPDATE images SET status = ?, ") + (import ? "" : "size = NULL, ") +
      "upload_token = NULL, upload_node = NULL, upload_expires = NULL, updated_at = ?, "
      "version = version + 1 WHERE id = ? AND status = ?");
  if (!up.ok()) return up.status();
  up->Bind(1, import ? kUploading : kQueued);
  up->Bind(2, now);
  up->Bind(3, stale.lock.image_id);
  up->Bind(4, stale.status);
  GLINT_RETURN_IF_ERROR(up->Run());
  if (!had_task) return Status::Ok();
  auto drop = db.Prepare("DELETE FROM image_properties WHERE image_id = ? AND name = 'os_glance_import_task'");
  if (!drop.ok()) return drop.status();
  drop->Bind(1, stale.lock.image_id);
  GLINT_RETURN_IF_ERROR(drop->Run());
  auto t = db.Prepare(
      "UPDATE tasks SET status = 'failure', message = 'the import was interrupted (node restarted "
      "or lost); import the image again', updated_at = ?, expires_at = ? "
      "WHERE image_id = ? AND status IN ('pending', 'processing')");
  if (!t.ok()) return t.status();
  t->Bind(1, now);
  t->Bind(2, now + kFinishedTaskLifetimeMicros);
  t->Bind(3, stale.lock.image_id);
  return t->Run();
}

}  // namespace

Result<std::vector<UploadLock>> SqlCatalog::RecoverUploads(const std::string& node_id,
                                                              int64_t now) {
  std::vector<UploadLock> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    out.clear();  // a retried call starts again
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    auto stale = SelectStaleLocks(db, node_id, now);
    if (!stale.ok()) return stale.status();
    GLINT_RETURN_IF_ERROR(PurgeExpiredTasks(db, now));
    GLINT_RETURN_IF_ERROR(FailInterruptedCopies(db, node_id, now));
    for (const auto& lock : *stale) {
      GLINT_RETURN_IF_ERROR(ReleaseStaleLock(db, lock, now));
      out.push_back(lock.lock);
    }
    return tx.Commit();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<UploadLock>> SqlCatalog::LiveUploads() {
  std::vector<UploadLock> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    out.clear();  // a retried call starts again
    auto sel = db.Prepare(
        "SELECT id, upload_token, upload_node FROM images WHERE status IN ('saving', 'uploading', 'importing') "
        "AND upload_token IS NOT NULL UNION ALL SELECT image_id, lock_token, lock_node FROM tasks "
        "WHERE status IN ('pending', 'processing') AND lock_token IS NOT NULL");
    if (!sel.ok()) return sel.status();
    for (;;) {
      auto row = sel->Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::Ok();
      out.push_back({sel->Text(0), sel->Text(1), sel->Text(2)});
    }
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<ImageRecord>> SqlCatalog::PendingDeletes() {
  std::vector<ImageRecord> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    out.clear();  // a retried call starts again
    auto sel = db.Prepare(
        std::string("SELECT ") + kImageColumns +
        " FROM images WHERE id IN (SELECT image_id FROM image_locations "
        "WHERE status = 'pending_delete')");
    if (!sel.ok()) return sel.status();
    for (;;) {
      auto row = sel->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back(ReadImage(*sel));
    }
    return LoadChildren(db, out, /*include_pending_delete=*/true);
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace glint::catalog
