// Image locations: added (possibly activating a queued image), replaced, removed one at
// a time, and forgotten once a deleted image's data is gone.
#include <optional>
#include <string>
#include <vector>

#include "catalog/sql_catalog.h"
#include "catalog/image_rows.h"
#include "common/ids.h"

namespace glint::catalog {

using sql::Db;
using sql::Transaction;

Status SqlCatalog::ForgetLocations(const std::string& id) {
  return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare("DELETE FROM image_locations WHERE image_id = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, id);
    return st->Run();
  });
}

// Shared by LocationReferenced and DeleteImage (inside its transaction).
Result<bool> LocationReferencedIn(Db& db, const std::string& url, const std::string& except_image_id) {
  auto st = db.Prepare(
      "SELECT 1 FROM image_locations l JOIN images i ON i.id = l.image_id "
      "WHERE l.url = ? AND l.image_id <> ? AND i.deleted = 0 AND l.status <> 'pending_delete' LIMIT 1");
  if (!st.ok()) return st.status();
  st->Bind(1, url);
  st->Bind(2, except_image_id);
  return st->Step();
}

Result<bool> SqlCatalog::LocationReferenced(const std::string& url, const std::string& except_image_id) {
  bool referenced = false;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    auto r = LocationReferencedIn(db, url, except_image_id);
    if (!r.ok()) return r.status();
    referenced = *r;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return referenced;
}

Status SqlCatalog::RemoveLocation(const std::string& id, const std::string& url) {
  return pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    auto st = db.Prepare("DELETE FROM image_locations WHERE image_id = ? AND url = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, id);
    st->Bind(2, url);
    GLINT_RETURN_IF_ERROR(st->Run());
    if (db.Changes() == 0) return Status::NotFound("location not found");
    auto up = db.Prepare("UPDATE images SET updated_at = ?, version = version + 1 WHERE id = ?");
    if (!up.ok()) return up.status();
    up->Bind(1, NowMicros());
    up->Bind(2, id);
    GLINT_RETURN_IF_ERROR(up->Run());
    return tx.Commit();
  });
}

Status SqlCatalog::AddLocation(const std::string& id, const ImageLocation& location,
                                  const std::optional<ImageRecord>& activate) {
  return pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    int64_t now = NowMicros();
    auto up = activate
                  ? db.Prepare("UPDATE images SET status = 'active', size = ?, checksum = ?, os_hash_algo = ?, "
                               "os_hash_value = ?, virtual_size = ?, activated_at = ?, updated_at = ?, "
                               "version = version + 1 WHERE id = ? AND status = 'queued' AND deleted = 0")
                  : db.Prepare("UPDATE images SET updated_at = ?, version = version + 1 "
                               "WHERE id = ? AND status = 'active' AND deleted = 0");
    if (!up.ok()) return up.status();
    int i = 1;
    if (activate) {
      up->Bind(i++, activate->size);
      up->Bind(i++, activate->checksum);
      up->Bind(i++, activate->os_hash_algo);
      up->Bind(i++, activate->os_hash_value);
      up->Bind(i++, activate->virtual_size);
      up->Bind(i++, now);
    }
    up->Bind(i++, now);
    up->Bind(i++, id);
    GLINT_RETURN_IF_ERROR(up->Run());
    if (db.Changes() == 0) return Status::Conflict("image " + id + " changed state; locations not updated");
    GLINT_RETURN_IF_ERROR(InsertLocation(db, id, location));
    if (activate) GLINT_RETURN_IF_ERROR(SetProperties(db, id, activate->properties));
    return tx.Commit();
  });
}

Status SqlCatalog::ReplaceLocations(const std::string& id, const std::vector<ImageLocation>& locations) {
  return pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    auto up = db.Prepare("UPDATE images SET updated_at = ?, version = version + 1 "
                         "WHERE id = ? AND status = 'active' AND deleted = 0");
    if (!up.ok()) return up.status();
    up->Bind(1, NowMicros());
    up->Bind(2, id);
    GLINT_RETURN_IF_ERROR(up->Run());
    if (db.Changes() == 0) return Status::Conflict("image " + id + " is not active");
    auto del = db.Prepare("DELETE FROM image_locations WHERE image_id = ? AND status = 'active'");
    if (!del.ok()) return del.status();
    del->Bind(1, id);
    GLINT_RETURN_IF_ERROR(del->Run());
    for (const auto& l : locations) GLINT_RETURN_IF_ERROR(InsertLocation(db, id, l));
    return tx.Commit();
  });
}

}  // namespace glint::catalog
