// The SQLite wrapper every SQL-backed module uses: Db (one connection, with a bounded
// cache of prepared statements), Stmt (a statement borrowed from that cache, or owned when
// the cache cannot hold it, that resets itself), Transaction (BEGIN IMMEDIATE, rolled back
// unless committed), SqlValue (a bound or read value). Called by the catalog
// (catalog/sqlite_*.cc), the identity store (auth/sqlite_identity.cc) and Glance adoption
// (catalog/glance_import.cc). A Db and its Stmts are used by one thread at a time; callers
// that serve many threads keep a pool of Dbs (the catalog does).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>

#include "common/status.h"

namespace glint::sql {

using SqlValue = std::variant<std::monostate, int64_t, std::string>;

// The free functions live in the types, so no SQLite handle is ever held raw.
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

// A prepared statement in the connection's cache. `borrowed` is set while a Stmt uses it,
// so the cache never finalizes a statement under a live Stmt.
struct CachedStmt {
  StmtPtr stmt;
  bool borrowed = false;
};

// One use of a prepared statement: bind, step, read columns. On destruction the
// statement is reset and, if it came from the cache, given back to it.
class Stmt {
 public:
  // Borrows `cached` (marks it borrowed until this Stmt dies).
  explicit Stmt(CachedStmt* cached) : s_(cached->stmt.get()), cached_(cached) {
    cached_->borrowed = true;
  }
  // Owns a statement the cache does not hold; finalized when this Stmt dies.
  explicit Stmt(StmtPtr owned) : s_(owned.get()), owned_(std::move(owned)) {}
  ~Stmt();
  Stmt(Stmt&& o) noexcept
      : s_(std::exchange(o.s_, nullptr)),
        cached_(std::exchange(o.cached_, nullptr)),
        owned_(std::move(o.owned_)) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;

  void Bind(int i, const SqlValue& v);
  void Bind(int i, const std::optional<std::string>& v) {
    v ? Bind(i, SqlValue(*v)) : Bind(i, SqlValue());
  }
  void Bind(int i, const std::optional<int64_t>& v) {
    v ? Bind(i, SqlValue(*v)) : Bind(i, SqlValue());
  }
  void Bind(int i, const std::string& v) { Bind(i, SqlValue(v)); }
  void Bind(int i, const char* v) { Bind(i, SqlValue(std::string(v))); }
  void Bind(int i, int64_t v) { Bind(i, SqlValue(v)); }
  void Bind(int i, bool v) { Bind(i, SqlValue(int64_t{v ? 1 : 0})); }

  // SQLITE_ROW -> true, SQLITE_DONE -> false; errors -> status.
  Result<bool> Step();
  Status Run();  // steps to completion

  int Columns() const { return sqlite3_column_count(s_); }
  bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  std::string Text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }
  std::optional<std::string> OptText(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Text(col);
  }
  std::optional<int64_t> OptInt(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Int(col);
  }

 private:
  sqlite3_stmt* s_;               // what this Stmt steps: cached_'s or owned_'s
  CachedStmt* cached_ = nullptr;  // set when borrowed from the cache
  StmtPtr owned_;                 // set when the cache could not hold the statement
};

class Db {
 public:
  // Distinct SQL texts kept prepared per connection. Listing queries vary with their
  // filters and page sizes, so the cache is bounded rather than grown forever.
  static constexpr size_t kStatementCacheLimit = 512;

  static Result<std::unique_ptr<Db>> Open(const std::string& path);
  // Someone else's database (adoption): no creation, no pragmas, nothing written.
  static Result<std::unique_ptr<Db>> OpenReadOnly(const std::string& path);
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Prepared once per connection and cached by SQL text. Statements must not outlive
  // their Db.
  Result<Stmt> Prepare(const std::string& sql);
  Status Exec(const std::string& sql);
  int64_t Changes() const { return sqlite3_changes64(db_.get()); }
  Status Error(const std::string& what) const;

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  // Drops every cached statement that no Stmt is using.
  void EvictIdleStatements();

  // Declared first so it is destroyed last: statements are finalized before the close.
  DbPtr db_;
  // Node-based, so a CachedStmt's address stays valid while a Stmt borrows it, whatever
  // else is inserted or erased.
  std::unordered_map<std::string, CachedStmt> cache_;
};

// BEGIN IMMEDIATE on construction (take the write lock up front, so concurrent writers
// wait in busy_timeout instead of failing mid-transaction); ROLLBACK unless Commit().
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  Status status() const { return begin_; }
  Status Commit();

 private:
  Db& db_;
  Status begin_;
  bool done_ = false;
};

}  // namespace glint::sql
