#include "sql/sqlite_db.h"

#include <sqlite3.h>

namespace glint::sql {
namespace {

// The free functions live in the types, so no SQLite handle is ever held raw.
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqliteStmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

class SqliteCursor final : public Cursor {
 public:
  explicit SqliteCursor(SqliteStmtPtr s) : s_(std::move(s)) {}

  void Bind(int i, const SqlValue& v) override {
    if (std::holds_alternative<std::monostate>(v)) {
      sqlite3_bind_null(s_.get(), i);
    } else if (auto* n = std::get_if<int64_t>(&v)) {
      sqlite3_bind_int64(s_.get(), i, *n);
    } else {
      const auto& s = std::get<std::string>(v);
      sqlite3_bind_text(s_.get(), i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
  }

  Result<bool> Step() override {
    int rc = sqlite3_step(s_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3* db = sqlite3_db_handle(s_.get());
    if (rc == SQLITE_CONSTRAINT) return Status::Conflict(sqlite3_errmsg(db));
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      return Status::Unavailable(std::string("catalog busy: ") + sqlite3_errmsg(db));
    }
    return Status::IOError(std::string("catalog: ") + sqlite3_errmsg(db));
  }

  void Reset() override {
    sqlite3_reset(s_.get());
    sqlite3_clear_bindings(s_.get());
  }

  int Columns() const override { return sqlite3_column_count(s_.get()); }
  bool IsNull(int col) const override { return sqlite3_column_type(s_.get(), col) == SQLITE_NULL; }
  int64_t Int(int col) const override { return sqlite3_column_int64(s_.get(), col); }
  std::string Text(int col) const override {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_.get(), col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_.get(), col))) : std::string();
  }

 private:
  SqliteStmtPtr s_;
};

class SqliteDb final : public Db {
 public:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  // Statements are finalized before the close (close_v2 would wait for them anyway).
  ~SqliteDb() override { DropStatements(); }

  Status Exec(const std::string& sql) override {
    char* err = nullptr;
    if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return Status::IOError("catalog: " + msg);
    }
    return Status::Ok();
  }
  int64_t Changes() const override { return sqlite3_changes64(db_.get()); }
  const Dialect& dialect() const override { return SqliteDialect(); }

  // BEGIN IMMEDIATE: take the write lock up front, so concurrent writers wait in
  // busy_timeout instead of failing mid-transaction.
  Status Begin() override { return Exec("BEGIN IMMEDIATE"); }
  Status Commit() override { return Exec("COMMIT"); }
  Status Rollback() override { return Exec("ROLLBACK"); }

  Status Error(const std::string& what) const {
    return Status::IOError("catalog " + what + ": " + sqlite3_errmsg(db_.get()));
  }

 protected:
  Result<std::unique_ptr<Cursor>> PrepareCursor(const std::string& sql) override {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    SqliteStmtPtr prepared(raw);
    if (rc != SQLITE_OK) return Error("prepare");
    return std::unique_ptr<Cursor>(new SqliteCursor(std::move(prepared)));
  }

 private:
  DbPtr db_;
};

Result<std::unique_ptr<Db>> OpenWith(const std::string& path, int flags, bool read_only) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  auto db = std::make_unique<SqliteDb>(raw);
  if (rc != SQLITE_OK) {
    std::string why = raw ? sqlite3_errmsg(raw) : "out of memory";
    if (read_only) return Status::NotFound("cannot open " + path + " read-only: " + why);
    return Status::IOError("cannot open catalog " + path + ": " + why);
  }
  sqlite3_busy_timeout(raw, 10000);
  sqlite3_extended_result_codes(raw, 0);
  return std::unique_ptr<Db>(std::move(db));
}

}  // namespace

Result<std::unique_ptr<Db>> OpenSqlite(const std::string& path) {
  auto db = OpenWith(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, false);
  if (!db.ok()) return db;
  // A page cache of up to 32 MiB per connection (SQLite's default is 2 MiB, allocated as
  // used): a listing of a large catalog reads the same index and table pages on every
  // request, and with 2 MiB they came back through read(2) each time (100,000 images: a
  // filter driven by 2,000 matches 11-15 ms with 2 MiB, 5-8 ms with the pages kept).
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON", "PRAGMA cache_size=-32768"}) {
    GLINT_RETURN_IF_ERROR((*db)->Exec(pragma));
  }
  return db;
}

Result<std::unique_ptr<Db>> OpenSqliteReadOnly(const std::string& path) {
  return OpenWith(path, SQLITE_OPEN_READONLY, true);
}

}  // namespace glint::sql
