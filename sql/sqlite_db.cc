#include "sql/sqlite_db.h"

namespace glint::sql {

Stmt::~Stmt() {
  if (!s_) return;  // moved from
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
  if (cached_) cached_->borrowed = false;
}

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

// A statement in use is never finalized: a full cache evicts only the statements no
// Stmt borrows, and when that frees no room (or the same SQL is already borrowed, as by
// a nested use) the caller gets a statement of its own, finalized when its Stmt dies.
// Evicting everything instead once freed statements that a caller was still stepping:
// a listing holds its page query while preparing the child queries, whose SQL text
// varies with the page size, so ordinary list traffic overflowed the cache mid-query.
Result<Stmt> Db::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.borrowed) return Stmt(&it->second);
  bool cacheable = it == cache_.end();
  if (cacheable && cache_.size() >= kStatementCacheLimit) {
    EvictIdleStatements();
    cacheable = cache_.size() < kStatementCacheLimit;
  }
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size()),
                              cacheable ? SQLITE_PREPARE_PERSISTENT : 0, &raw, nullptr);
  StmtPtr prepared(raw);
  if (rc != SQLITE_OK) return Error("prepare");
  if (!cacheable) return Stmt(std::move(prepared));
  auto inserted = cache_.emplace(sql, CachedStmt{std::move(prepared)}).first;
  return Stmt(&inserted->second);
}

void Db::EvictIdleStatements() {
  std::erase_if(cache_, [](const auto& entry) { return !entry.second.borrowed; });
}

Status Db::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::IOError("catalog: " + msg);
  }
  return Status::Ok();
}

Status Db::Error(const std::string& what) const {
  return Status::IOError("catalog " + what + ": " + sqlite3_errmsg(db_.get()));
}

Transaction::Transaction(Db& db) : db_(db) { begin_ = db_.Exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (begin_.ok() && !done_) (void)db_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  done_ = true;
  return db_.Exec("COMMIT");
}

}  // namespace glint::sql
