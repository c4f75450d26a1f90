// Opening a connection for a parsed `[database] connection`, whatever its engine. The one
// place that knows which drivers exist; ConnectionPool calls it for every new connection.
#pragma once

#include <memory>

#include "sql/connection_url.h"
#include "sql/db.h"
#include "sql/mariadb_db.h"

namespace glint::sql {

Result<std::unique_ptr<Db>> OpenDatabase(const ConnectionSpec& spec, const SessionLimits& limits = {});

}  // namespace glint::sql
