// The catalog's schema: its tables, indexes and triggers as versioned steps (recorded in
// glint_schema). Internal to catalog/: applied by OpenCatalog on SQLite and by
// SyncCatalogSchema (`glint-manage db-sync`); checked by OpenCatalog on MariaDB.
#pragma once

#include "sql/migrations.h"

namespace glint::catalog {

const sql::Schema& CatalogSchema();

}  // namespace glint::catalog
