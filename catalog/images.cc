// Image rows: create, read, update, status changes, delete, adoption, and the counts
// read from them (project usage, the listing generation).
#include <optional>
#include <string>
#include <vector>

#include "catalog/sql_catalog.h"
#include "catalog/image_rows.h"
#include "common/ids.h"

namespace glint::catalog {

using sql::Db;
using sql::Transaction;

Status SqlCatalog::CreateImage(const ImageRecord& image) {
  return pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    {
      auto st = db.Prepare("SELECT deleted FROM images WHERE id = ?");
      if (!st.ok()) return st.status();
      st->Bind(1, image.id);
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (*row) return Status::Conflict("Image with identifier " + image.id + " already exists!");
    }
    GLINT_RETURN_IF_ERROR(InsertImageRow(db, image, /*deleted=*/false));
    GLINT_RETURN_IF_ERROR(WriteChildren(db, image));
    return tx.Commit();
  });
}

Result<ImageRecord> SqlCatalog::GetImage(const std::string& id) {
  auto r = GetImageAnyStatus(id);
  if (r.ok() && r->status == kDeleted) return Status::NotFound("No image found with ID " + id);
  return r;
}

Result<ImageRecord> SqlCatalog::GetImageAnyStatus(const std::string& id) {
  std::optional<ImageRecord> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(std::string("SELECT ") + kImageColumns + " FROM images WHERE id = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, id);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("No image found with ID " + id);
    ImageRecord r = ReadImage(*st);
    std::vector<ImageRecord> one{std::move(r)};
    GLINT_RETURN_IF_ERROR(LoadChildren(db, one));
    out = std::move(one[0]);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return std::move(*out);
}

Status SqlCatalog::UpdateImage(const ImageRecord& image) {
  return pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    auto st = db.Prepare(
        "UPDATE images SET name = ?, visibility = ?, owner = ?, disk_format = ?, "
        "container_format = ?, min_disk = ?, min_ram = ?, protected = ?, os_hidden = ?, "
        "updated_at = ?, version = version + 1 "
        "WHERE id = ? AND version = ? AND deleted = 0");
    if (!st.ok()) return st.status();
    int i = 1;
    st->Bind(i++, image.name);
    st->Bind(i++, image.visibility);
    st->Bind(i++, image.owner);
    st->Bind(i++, image.disk_format);
    st->Bind(i++, image.container_format);
    st->Bind(i++, image.min_disk);
    st->Bind(i++, image.min_ram);
    st->Bind(i++, image.is_protected);
    st->Bind(i++, image.os_hidden);
    st->Bind(i++, image.updated_at);
    st->Bind(i++, image.id);
    st->Bind(i++, image.version);
    GLINT_RETURN_IF_ERROR(st->Run());
    if (db.Changes() == 0) {
      return Status::Conflict("image " + image.id + " changed concurrently; retry");
    }
    for (const char* sql : {"DELETE FROM image_properties WHERE image_id = ?",
                            "DELETE FROM image_tags WHERE image_id = ?"}) {
      auto del = db.Prepare(sql);
      if (!del.ok()) return del.status();
      del->Bind(1, image.id);
      GLINT_RETURN_IF_ERROR(del->Run());
    }
    GLINT_RETURN_IF_ERROR(WriteChildren(db, image));
    return tx.Commit();
  });
}

Status SqlCatalog::TransitionStatus(const std::string& id, const std::string& from,
                                       const std::string& to) {
  return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(
        "UPDATE images SET status = ?, updated_at = ?, version = version + 1 "
        "WHERE id = ? AND status = ? AND deleted = 0");
    if (!st.ok()) return st.status();
    st->Bind(1, to);
    st->Bind(2, NowMicros());
    st->Bind(3, id);
    st->Bind(4, from);
    GLINT_RETURN_IF_ERROR(st->Run());
    if (db.Changes() == 0) return Status::Conflict("image " + id + " is not " + from);
    return Status::Ok();
  });
}

// Locations whose data another live image also references are forgotten, not deleted:
// deleting one image never removes data another still uses. Runs inside the delete's
// transaction, so no location can be added or removed in between.
namespace {

Status KeepSharedData(Db& db, ImageRecord& image) {
  std::vector<ImageLocation> own;
  for (auto& loc : image.locations) {
    auto shared = LocationReferencedIn(db, loc.url, image.id);
    if (!shared.ok()) return shared.status();
    if (!*shared) {
      own.push_back(std::move(loc));
      continue;
    }
    auto st = db.Prepare("DELETE FROM image_locations WHERE image_id = ? AND url = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, image.id);
    st->Bind(2, loc.url);
    GLINT_RETURN_IF_ERROR(st->Run());
  }
  image.locations = std::move(own);
  return Status::Ok();
}

}  // namespace

Result<ImageRecord> SqlCatalog::DeleteImage(const std::string& id) {
  std::optional<ImageRecord> before;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    auto st = db.Prepare(std::string("SELECT ") + kImageColumns +
                         " FROM images WHERE id = ? AND deleted = 0");
    if (!st.ok()) return st.status();
    st->Bind(1, id);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("No image found with ID " + id);
    std::vector<ImageRecord> one{ReadImage(*st)};
    GLINT_RETURN_IF_ERROR(LoadChildren(db, one));
    before = std::move(one[0]);
    int64_t now = NowMicros();
    auto up = db.Prepare(
        "UPDATE images SET status = 'deleted', deleted = 1, deleted_at = ?, updated_at = ?, "
        "upload_token = NULL, upload_node = NULL, upload_expires = NULL, "
        "version = version + 1 WHERE id = ?");
    if (!up.ok()) return up.status();
    up->Bind(1, now);
    up->Bind(2, now);
    up->Bind(3, id);
    GLINT_RETURN_IF_ERROR(up->Run());
    GLINT_RETURN_IF_ERROR(KeepSharedData(db, *before));
    auto loc = db.Prepare(
        "UPDATE image_locations SET status = 'pending_delete' WHERE image_id = ?");
    if (!loc.ok()) return loc.status();
    loc->Bind(1, id);
    GLINT_RETURN_IF_ERROR(loc->Run());
    auto mem = db.Prepare("DELETE FROM image_members WHERE image_id = ?");
    if (!mem.ok()) return mem.status();
    mem->Bind(1, id);
    GLINT_RETURN_IF_ERROR(mem->Run());
    GLINT_RETURN_IF_ERROR(DeleteManifest(db, id));
    GLINT_RETURN_IF_ERROR(DeleteBootReports(db, id));
    return tx.Commit();
  });
  if (!s.ok()) return s;
  return std::move(*before);
}

Status SqlCatalog::ImportImage(const ImageRecord& image, bool deleted,
                                  const std::vector<ImageMember>& members) {
  return pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    Status s = InsertImageRow(db, image, deleted);
    if (s.code() == Status::Code::kConflict) return Status::Conflict("image " + image.id + " already exists");
    GLINT_RETURN_IF_ERROR(s);
    if (deleted) return tx.Commit();
    GLINT_RETURN_IF_ERROR(WriteChildren(db, image));
    for (const auto& l : image.locations) GLINT_RETURN_IF_ERROR(InsertLocation(db, image.id, l));
    for (const auto& m : members) {
      auto mem = db.Prepare(
          "INSERT INTO image_members (image_id, member, status, created_at, updated_at) VALUES (?,?,?,?,?)");
      if (!mem.ok()) return mem.status();
      mem->Bind(1, image.id);
      mem->Bind(2, m.member);
      mem->Bind(3, m.status);
      mem->Bind(4, m.created_at);
      mem->Bind(5, m.updated_at);
      GLINT_RETURN_IF_ERROR(mem->Run());
    }
    return tx.Commit();
  });
}

Result<ProjectUsage> SqlCatalog::Usage(const std::string& project_id) {
  ProjectUsage u;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'saving' THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(size), 0), "
        "COALESCE(SUM(CASE WHEN status IN ('uploading', 'importing') THEN size ELSE 0 END), 0) "
        "FROM images WHERE owner = ? AND deleted = 0");
    if (!st.ok()) return st.status();
    st->Bind(1, project_id);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      u.image_count_total = st->Int(0);
      u.image_count_uploading = st->Int(1);
      u.image_size_total = st->Int(2);
      u.image_stage_total = st->Int(3);
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return u;
}

Result<int64_t> SqlCatalog::Generation() {
  int64_t value = 0;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare("SELECT value FROM glint_generation WHERE id = 1");
    if (!st.ok()) return st.status();
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (*row) value = st->Int(0);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return value;
}

}  // namespace glint::catalog
