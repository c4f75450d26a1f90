#include "catalog/sqlite_connection_pool.h"

namespace glint::catalog {

// Idle connections kept open; more concurrent calls open extra ones that close after use.
constexpr size_t kMaxIdleConnections = 32;

Result<std::unique_ptr<sql::Db>> SqliteConnectionPool::Acquire() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!idle_.empty()) {
      auto db = std::move(idle_.back());
      idle_.pop_back();
      return db;
    }
  }
  return sql::Db::Open(path_);
}

void SqliteConnectionPool::Release(std::unique_ptr<sql::Db> db) {
  std::lock_guard<std::mutex> l(mu_);
  if (idle_.size() < kMaxIdleConnections) idle_.push_back(std::move(db));
}

}  // namespace glint::catalog
