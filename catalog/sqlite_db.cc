#include "catalog/sqlite_db.h"

namespace glint::catalog {

void Stmt::Bind(int i, const SqlValue& v) {
  if (std::holds_alternative<std::monostate>(v)) {
    sqlite3_bind_null(s_, i);
  } else if (auto* n = std::get_if<int64_t>(&v)) {
    sqlite3_bind_int64(s_, i, *n);
  } else {
    const auto& s = std::get<std::string>(v);
    sqlite3_bind_text(s_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
}

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(s_);
  if (rc == SQLITE_CONSTRAINT) return Status::Conflict(sqlite3_errmsg(db));
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    return Status::Unavailable(std::string("catalog busy: ") + sqlite3_errmsg(db));
  }
  return Status::IOError(std::string("catalog: ") + sqlite3_errmsg(db));
}

Status Stmt::Run() {
  for (;;) {
    auto r = Step();
    if (!r.ok()) return r.status();
    if (!*r) return Status::Ok();
  }
}

Result<std::unique_ptr<Db>> Db::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  std::unique_ptr<Db> db(new Db(raw));
  if (rc != SQLITE_OK) {
    return Status::IOError("cannot open catalog " + path + ": " +
                           (raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_busy_timeout(raw, 10000);
  sqlite3_extended_result_codes(raw, 0);
  GLINT_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL"));
  GLINT_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=FULL"));
  GLINT_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=ON"));
  return db;
}

Result<std::unique_ptr<Db>> Db::OpenReadOnly(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Db> db(new Db(raw));
  if (rc != SQLITE_OK) {
    return Status::NotFound("cannot open " + path + " read-only: " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_busy_timeout(raw, 10000);
  sqlite3_extended_result_codes(raw, 0);
  return db;
}

Db::~Db() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Result<Stmt> Db::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Stmt(it->second);
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                         SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
    return Error("prepare");
  }
  // Listing queries vary with their filters; bound the cache so it cannot grow forever.
  if (cache_.size() > 512) {
    for (auto& [k, v] : cache_) sqlite3_finalize(v);
    cache_.clear();
  }
  cache_.emplace(sql, s);
  return Stmt(s);
}

Status Db::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::IOError("catalog: " + msg);
  }
  return Status::Ok();
}

Status Db::Error(const std::string& what) const {
  return Status::IOError("catalog " + what + ": " + sqlite3_errmsg(db_));
}

Transaction::Transaction(Db& db) : db_(db) { begin_ = db_.Exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (begin_.ok() && !done_) (void)db_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  done_ = true;
  return db_.Exec("COMMIT");
}

}  // namespace glint::catalog
