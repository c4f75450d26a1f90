#include "sql/open.h"

#include "sql/sqlite_db.h"

namespace glint::sql {

Result<std::unique_ptr<Db>> OpenDatabase(const ConnectionSpec& spec, const SessionLimits& limits) {
  if (spec.engine == "sqlite") return OpenSqlite(spec.path);
  if (spec.engine == "mysql") return OpenMariaDb(spec, limits);
  return Status::InvalidArgument("unsupported database engine '" + spec.engine + "'");
}

}  // namespace glint::sql
