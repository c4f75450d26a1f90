// Members of shared images: which projects an image is shared with, and whether each
// accepted it.
#include <optional>
#include <string>
#include <vector>

#include "catalog/sql_catalog.h"
#include "common/ids.h"

namespace glint::catalog {

using sql::Db;

Status SqlCatalog::AddMember(const ImageMember& m) {
  return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(
        "INSERT INTO image_members (image_id, member, status, created_at, updated_at) "
        "VALUES (?,?,?,?,?)");
    if (!st.ok()) return st.status();
    st->Bind(1, m.image_id);
    st->Bind(2, m.member);
    st->Bind(3, m.status);
    st->Bind(4, m.created_at);
    st->Bind(5, m.updated_at);
    Status s = st->Run();
    if (s.code() == Status::Code::kConflict) {
      return Status::Conflict("Member " + m.member + " already exists for image " + m.image_id);
    }
    return s;
  });
}

Result<ImageMember> SqlCatalog::GetMember(const std::string& image_id, const std::string& member) {
  std::optional<ImageMember> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(
        "SELECT image_id, member, status, created_at, updated_at FROM image_members "
        "WHERE image_id = ? AND member = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, image_id);
    st->Bind(2, member);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("Member " + member + " not found for image " + image_id);
    out = ImageMember{st->Text(0), st->Text(1), st->Text(2), st->Int(3), st->Int(4)};
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return *out;
}

Result<std::vector<ImageMember>> SqlCatalog::ListMembers(const std::string& image_id) {
  std::vector<ImageMember> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    out.clear();  // a retried call starts again
    auto st = db.Prepare(
        "SELECT image_id, member, status, created_at, updated_at FROM image_members "
        "WHERE image_id = ? ORDER BY created_at, member");
    if (!st.ok()) return st.status();
    st->Bind(1, image_id);
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::Ok();
      out.push_back({st->Text(0), st->Text(1), st->Text(2), st->Int(3), st->Int(4)});
    }
  });
  if (!s.ok()) return s;
  return out;
}

Status SqlCatalog::UpdateMemberStatus(const std::string& image_id, const std::string& member,
                                         const std::string& status) {
  return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(
        "UPDATE image_members SET status = ?, updated_at = ? WHERE image_id = ? AND member = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, status);
    st->Bind(2, NowMicros());
    st->Bind(3, image_id);
    st->Bind(4, member);
    GLINT_RETURN_IF_ERROR(st->Run());
    if (db.Changes() == 0) return Status::NotFound("Member " + member + " not found for image " + image_id);
    return Status::Ok();
  });
}

Status SqlCatalog::DeleteMember(const std::string& image_id, const std::string& member) {
  return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare("DELETE FROM image_members WHERE image_id = ? AND member = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, image_id);
    st->Bind(2, member);
    GLINT_RETURN_IF_ERROR(st->Run());
    if (db.Changes() == 0) return Status::NotFound("Member " + member + " not found for image " + image_id);
    return Status::Ok();
  });
}

}  // namespace glint::catalog
