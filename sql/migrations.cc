#include "sql/migrations.h"

namespace glint::sql {
namespace {

Status TooNew(const Schema& schema, int64_t version) {
  return Status::Internal("the " + schema.name + " schema in the database is at version " +
                          std::to_string(version) + ", newer than this Glint knows (" +
                          std::to_string(schema.latest()) +
                          "): upgrade Glint on this node, or point it at the right database");
}

}  // namespace

Result<int64_t> SchemaVersion(Db& db, const Schema& schema) {
  auto exists = db.Prepare(db.dialect().TableExistsQuery());
  if (!exists.ok()) return exists.status();
  exists->Bind(1, schema.version_table);
  auto found = exists->Step();
  if (!found.ok()) return found.status();
  if (!*found) return int64_t{0};
  auto st = db.Prepare("SELECT MAX(version) FROM " + schema.version_table);
  if (!st.ok()) return st.status();
  auto row = st->Step();
  if (!row.ok()) return row.status();
  return *row && !st->IsNull(0) ? st->Int(0) : int64_t{0};
}

Result<int64_t> Migrate(Db& db, const Schema& schema) {
  GLINT_RETURN_IF_ERROR(db.Exec("CREATE TABLE IF NOT EXISTS " + schema.version_table +
                                " (version INTEGER NOT NULL PRIMARY KEY)" + db.dialect().TableOptions()));
  auto version = SchemaVersion(db, schema);
  if (!version.ok()) return version.status();
  if (*version > schema.latest()) return TooNew(schema, *version);
  for (int64_t v = *version; v < schema.latest(); ++v) {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    for (const auto& ddl : schema.steps[static_cast<size_t>(v)](db.dialect())) {
      GLINT_RETURN_IF_ERROR(db.Exec(ddl));
    }
    auto st = db.Prepare("INSERT INTO " + schema.version_table + " (version) VALUES (?)");
    if (!st.ok()) return st.status();
    st->Bind(1, v + 1);
    GLINT_RETURN_IF_ERROR(st->Run());
    GLINT_RETURN_IF_ERROR(tx.Commit());
  }
  return schema.latest();
}

Status RequireCurrent(Db& db, const Schema& schema) {
  auto version = SchemaVersion(db, schema);
  if (!version.ok()) return version.status();
  if (*version == schema.latest()) return Status::Ok();
  if (*version > schema.latest()) return TooNew(schema, *version);
  if (*version == 0) {
    return Status::Internal("the database has no Glint " + schema.name +
                            " schema yet: run `glint-manage db-sync` first");
  }
  return Status::Internal("the " + schema.name + " schema in the database is at version " +
                          std::to_string(*version) + ", older than this Glint's " +
                          std::to_string(schema.latest()) + ": run `glint-manage db-sync`");
}

}  // namespace glint::sql
