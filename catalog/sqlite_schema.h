// The catalog's schema and its migrations. Internal to catalog/: SqliteCatalog::Init
// calls MigrateSchema once, on its first connection, before serving.
#pragma once

#include "common/status.h"
#include "sql/sqlite_db.h"

namespace glint::catalog {

// Applies, in one write transaction, every migration newer than the version recorded in
// glint_schema. Internal error when the database is newer than this Glint.
Status MigrateSchema(sql::Db& db);

}  // namespace glint::catalog
