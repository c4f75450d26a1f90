// The driver-neutral SQL layer every SQL-backed module uses: Db (one connection, with a
// bounded cache of prepared statements), Stmt (a statement borrowed from that cache, or
// owned when the cache cannot hold it, reset when it dies), Transaction (begun on
// construction, rolled back unless committed), SqlValue (a bound or read value). A driver
// (sql/sqlite_db.cc, sql/mariadb_db.cc) implements Db and Cursor; what differs in the SQL
// text itself is asked of db.dialect() (sql/dialect.h). Called by the catalog, the
// identity store and Glance adoption. A Db and its Stmts are used by one thread at a
// time; callers that serve many threads keep a ConnectionPool (sql/connection_pool.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>

#include "common/status.h"
#include "sql/dialect.h"

namespace glint::sql {

using SqlValue = std::variant<std::monostate, int64_t, std::string>;

// One prepared statement of a driver. Placeholders are `?`, numbered from 1; columns
// from 0. Step() runs the statement on its first call after binding.
class Cursor {
 public:
  virtual ~Cursor() = default;
  virtual void Bind(int i, const SqlValue& v) = 0;
  // A row -> true, done -> false; errors -> status.
  virtual Result<bool> Step() = 0;
  // Ready to bind and run again.
  virtual void Reset() = 0;
  virtual int Columns() const = 0;
  virtual bool IsNull(int col) const = 0;
  virtual int64_t Int(int col) const = 0;
  virtual std::string Text(int col) const = 0;
};

// A prepared statement in the connection's cache. `borrowed` is set while a Stmt uses it,
// so the cache never drops a statement under a live Stmt.
struct CachedStmt {
  std::unique_ptr<Cursor> cursor;
  bool borrowed = false;
};

// One use of a prepared statement: bind, step, read columns. On destruction the
// statement is reset and, if it came from the cache, given back to it.
class Stmt {
 public:
  // Borrows `cached` (marks it borrowed until this Stmt dies).
  explicit Stmt(CachedStmt* cached) : c_(cached->cursor.get()), cached_(cached) {
    cached_->borrowed = true;
  }
  // Owns a statement the cache does not hold; dropped when this Stmt dies.
  explicit Stmt(std::unique_ptr<Cursor> owned) : c_(owned.get()), owned_(std::move(owned)) {}
  ~Stmt();
  Stmt(Stmt&& o) noexcept
      : c_(std::exchange(o.c_, nullptr)),
        cached_(std::exchange(o.cached_, nullptr)),
        owned_(std::move(o.owned_)) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;

  void Bind(int i, const SqlValue& v) { c_->Bind(i, v); }
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

  Result<bool> Step() { return c_->Step(); }
  Status Run();  // steps to completion

  int Columns() const { return c_->Columns(); }
  bool IsNull(int col) const { return c_->IsNull(col); }
  int64_t Int(int col) const { return c_->Int(col); }
  std::string Text(int col) const { return c_->Text(col); }
  std::optional<std::string> OptText(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Text(col);
  }
  std::optional<int64_t> OptInt(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Int(col);
  }

 private:
  Cursor* c_;                     // what this Stmt steps: cached_'s or owned_'s
  CachedStmt* cached_ = nullptr;  // set when borrowed from the cache
  std::unique_ptr<Cursor> owned_;  // set when the cache could not hold the statement
};

// Whether the last failure on a connection lets the caller run its whole transaction
// again: the server rolled it back (deadlock, Galera certification conflict, lock wait
// timeout) or the connection was lost before any commit was asked for. A connection lost
// during a commit is kUnknownOutcome: never retried blindly. kNodeNotReady: the server
// refused the command because its node cannot serve (Galera error 1047: not synced, or
// leaving the cluster while a proxy still sends it clients); nothing ran, the connection
// is dropped and the call is tried again on a new one for as long as a connection may
// take to open, since the proxy only moves clients once its health check sees the node.
enum class Failure { kNone, kRetryable, kLostBeforeCommit, kUnknownOutcome, kNodeNotReady };

class Db {
 public:
  // Distinct SQL texts kept prepared per connection. Listing queries vary with their
  // filters and page sizes, so the cache is bounded rather than grown forever.
  static constexpr size_t kStatementCacheLimit = 512;

  virtual ~Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Prepared once per connection and cached by SQL text. Statements must not outlive
  // their Db.
  Result<Stmt> Prepare(const std::string& sql);
  virtual Status Exec(const std::string& sql) = 0;
  // Rows the last INSERT/UPDATE/DELETE matched.
  virtual int64_t Changes() const = 0;
  virtual const Dialect& dialect() const = 0;

  // The transaction primitives Transaction uses.
  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;

  // Why the last statement failed (see Failure); reset by every Begin.
  virtual Failure LastFailure() const { return Failure::kNone; }
  // The connection cannot be used again (lost); the pool drops it.
  virtual bool Broken() const { return false; }
  // Checked before an idle connection is reused, without a round trip: the other side
  // has closed it (a server restart, a balancer cutting sessions at a failover) or it is
  // Broken.
  virtual bool Closed() { return Broken(); }

 protected:
  Db() = default;
  virtual Result<std::unique_ptr<Cursor>> PrepareCursor(const std::string& sql) = 0;
  // Drivers whose statements must die before their connection call this first in their
  // destructor.
  void DropStatements() { cache_.clear(); }

 private:
  // Drops every cached statement that no Stmt is using.
  void EvictIdleStatements();

  // Node-based, so a CachedStmt's address stays valid while a Stmt borrows it, whatever
  // else is inserted or erased.
  std::unordered_map<std::string, CachedStmt> cache_;
};

// Begin() on construction; Rollback() unless Commit().
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status status() const { return begin_; }
  Status Commit();

 private:
  Db& db_;
  Status begin_;
  bool done_ = false;
};

}  // namespace glint::sql
