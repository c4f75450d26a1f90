// The SQLite driver of sql::Db: one connection in WAL mode, its statements prepared
// persistent. Opened by sql::OpenDatabase (sql/open.h) for sqlite:/// connections and by
// Glance adoption for a Glance SQLite file (read-only).
#pragma once

#include <memory>
#include <string>

#include "sql/db.h"

namespace glint::sql {

// Creates the file if missing; WAL, synchronous=FULL, foreign keys on, 10 s busy timeout.
Result<std::unique_ptr<Db>> OpenSqlite(const std::string& path);
// Someone else's database (adoption): no creation, no pragmas, nothing written.
Result<std::unique_ptr<Db>> OpenSqliteReadOnly(const std::string& path);

}  // namespace glint::sql
