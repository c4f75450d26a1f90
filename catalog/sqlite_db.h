// Thin RAII wrappers over the SQLite C API for the catalog's SQLite backend:
// Db (one connection, with a cache of prepared statements), Stmt (a borrowed cached
// statement that resets itself), Transaction (rolls back unless committed).
// A Db is used by one thread at a time; the catalog hands them out from a pool.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>

#include "common/status.h"

namespace glint::catalog {

using SqlValue = std::variant<std::monostate, int64_t, std::string>;

class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() {
    if (s_) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }
  Stmt(Stmt&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  Stmt(const Stmt&) = delete;

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
  sqlite3_stmt* s_;
};

class Db {
 public:
  static Result<std::unique_ptr<Db>> Open(const std::string& path);
  // Someone else's database (adoption): no creation, no pragmas, nothing written.
  static Result<std::unique_ptr<Db>> OpenReadOnly(const std::string& path);
  ~Db();
  Db(const Db&) = delete;

  // Prepared once per connection and cached by SQL text.
  Result<Stmt> Prepare(const std::string& sql);
  Status Exec(const std::string& sql);
  int64_t Changes() const { return sqlite3_changes64(db_); }
  Status Error(const std::string& what) const;

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
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

}  // namespace glint::catalog
