// SqliteConnectionPool: the catalog's SQLite connections, one per concurrently running
// call. Internal to catalog/; SqliteCatalog runs each call inside WithDb, from any worker
// thread. A connection (and its statement cache) is used by one thread at a time.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "sql/sqlite_db.h"

namespace glint::catalog {

class SqliteConnectionPool {
 public:
  explicit SqliteConnectionPool(std::string path) : path_(std::move(path)) {}

  // Runs fn(sql::Db&) on an idle connection (a new one when none is idle) and returns
  // the connection to the pool afterwards.
  template <typename Fn>
  Status WithDb(Fn&& fn) {
    auto db = Acquire();
    if (!db.ok()) return db.status();
    Status s = fn(**db);
    Release(std::move(db).value());
    return s;
  }

  Result<std::unique_ptr<sql::Db>> Acquire();
  // Keeps the connection for reuse, up to a bound; beyond it the connection closes.
  void Release(std::unique_ptr<sql::Db> db);

 private:
  const std::string path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<sql::Db>> idle_;
};

}  // namespace glint::catalog
