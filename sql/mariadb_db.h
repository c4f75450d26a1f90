// The MariaDB/MySQL driver of sql::Db, on libmariadb (Debian's C connector): one
// connection, server-side prepared statements, utf8mb4, and per-session limits so that no
// statement or lock wait runs unbounded. Opened by sql::OpenDatabase (sql/open.h) for
// mysql:// and mysql+pymysql:// connections; a ConnectionPool reopens lost connections
// and runs transactions again after deadlocks and Galera certification conflicts.
#pragma once

#include <memory>

#include "sql/connection_url.h"
#include "sql/db.h"

namespace glint::sql {

// Server-side limits set on every session.
struct SessionLimits {
  int lock_wait_timeout_s = 10;    // innodb_lock_wait_timeout
  int statement_timeout_s = 60;    // max_statement_time
  int idle_timeout_s = 3600;       // wait_timeout: idle pooled sessions are closed
  int connect_timeout_s = 5;
};

Result<std::unique_ptr<Db>> OpenMariaDb(const ConnectionSpec& spec, const SessionLimits& limits = {});

}  // namespace glint::sql
