// OpenCatalog, the catalog factory, and the SQLite backend's start-up.
#include "catalog/sqlite_catalog.h"

#include <memory>
#include <string>

#include "catalog/catalog.h"
#include "catalog/sqlite_schema.h"

namespace glint::catalog {

Status SqliteCatalog::Init() {
  auto db = pool_.Acquire();
  if (!db.ok()) return db.status();
  GLINT_RETURN_IF_ERROR(MigrateSchema(**db));
  pool_.Release(std::move(db).value());
  return Status::Ok();
}

std::unique_ptr<Catalog> OpenCatalog(const std::string& connection, Status* status) {
  const std::string prefix = "sqlite:///";
  if (connection.rfind(prefix, 0) != 0) {
    *status = Status::InvalidArgument("unsupported [database] connection '" + connection +
                                      "': Glint's embedded catalog takes sqlite:////abs/path.db");
    return nullptr;
  }
  std::string path = connection.substr(prefix.size());
  if (path.empty()) {
    *status = Status::InvalidArgument("empty sqlite path in [database] connection");
    return nullptr;
  }
  auto catalog = std::make_unique<SqliteCatalog>(path);
  *status = catalog->Init();
  if (!status->ok()) return nullptr;
  return catalog;
}

}  // namespace glint::catalog
