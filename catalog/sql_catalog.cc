// OpenCatalog, the catalog factory, the schema's start-up check and db-sync.
#include "catalog/sql_catalog.h"

#include <memory>
#include <string>

#include "catalog/catalog.h"
#include "catalog/schema.h"

namespace glint::catalog {
namespace {

Result<sql::ConnectionSpec> ParseCatalogUrl(const std::string& connection) {
  auto spec = sql::ParseConnectionUrl(connection);
  if (!spec.ok()) {
    return Status::InvalidArgument("unsupported [database] connection '" + connection + "': " +
                                   spec.status().message() +
                                   " (Glint takes sqlite:////abs/path.db or mysql+pymysql://user:pw@host/db)");
  }
  if (spec->engine == "sqlite" && spec->path.empty()) {
    return Status::InvalidArgument("empty sqlite path in [database] connection");
  }
  return spec;
}

// One connection, for db-sync and db-version.
Result<std::unique_ptr<sql::Db>> OpenOne(const std::string& connection) {
  auto spec = ParseCatalogUrl(connection);
  if (!spec.ok()) return spec.status();
  sql::ConnectionPool pool(*spec, 1);
  return pool.Acquire();
}

}  // namespace

Status SqlCatalog::Init(bool migrate) {
  auto db = pool_.Acquire();
  if (!db.ok()) return db.status();
  Status s = migrate ? sql::Migrate(**db, CatalogSchema()).status() : sql::RequireCurrent(**db, CatalogSchema());
  pool_.Release(std::move(db).value());
  return s;
}

std::unique_ptr<Catalog> OpenCatalog(const std::string& connection, Status* status) {
  auto spec = ParseCatalogUrl(connection);
  if (!spec.ok()) {
    *status = spec.status();
    return nullptr;
  }
  // A private in-memory database exists once per connection: keep to one.
  size_t max_open = spec->engine == "sqlite" && spec->path == ":memory:" ? 1 : 0;
  bool migrate = spec->engine == "sqlite";  // the embedded catalog creates itself
  auto catalog = std::make_unique<SqlCatalog>(*spec, max_open);
  *status = catalog->Init(migrate);
  if (!status->ok()) return nullptr;
  return catalog;
}

Result<int64_t> SyncCatalogSchema(const std::string& connection) {
  auto db = OpenOne(connection);
  if (!db.ok()) return db.status();
  return sql::Migrate(**db, CatalogSchema());
}

Result<int64_t> CatalogSchemaVersion(const std::string& connection) {
  auto db = OpenOne(connection);
  if (!db.ok()) return db.status();
  return sql::SchemaVersion(**db, CatalogSchema());
}

int64_t LatestCatalogSchemaVersion() { return CatalogSchema().latest(); }

}  // namespace glint::catalog
