// Dialect: the few places where the SQL text itself differs between engines, asked of
// db.dialect() by the code that builds schema and statements (catalog/schema.cc,
// auth/sql_identity.cc). Everything else Glint sends is plain SQL that SQLite, MariaDB/
// MySQL and PostgreSQL all accept, so a new engine is a new Dialect plus a driver.
// Immutable; shared by every connection of an engine.
#pragma once

#include <string>

namespace glint::sql {

class Dialect {
 public:
  virtual ~Dialect() = default;
  // "sqlite" or "mysql".
  virtual std::string Name() const = 0;
  // Appended to CREATE TABLE (engine, character set, collation).
  virtual std::string TableOptions() const = 0;
  // An INSERT that skips rows whose primary key already exists: "<this> INTO t ...".
  virtual std::string InsertIgnore() const = 0;
  // What follows INSERT INTO t (cols) VALUES (...) so that a row whose primary key
  // `key` (a column list) exists gets the inserted value of `column` instead.
  virtual std::string UpsertClause(const std::string& key, const std::string& column) const = 0;
  // An integer primary key the engine numbers itself.
  virtual std::string AutoIncrementKey() const = 0;
  // A text column for values beyond a few KiB (locations' metadata, task results).
  virtual std::string LargeText() const = 0;
  // The current time in microseconds since the epoch, as an SQL expression.
  virtual std::string NowMicros() const = 0;
  // " LIMIT ? OFFSET ?" in the engine's spelling (limit bound first).
  virtual std::string LimitOffset() const { return " LIMIT ? OFFSET ?"; }
  // Appended to a table in FROM to make the engine read it through `index` where it can
  // (MariaDB may otherwise walk a whole equality group of the index instead of seeking
  // into it, e.g. to a pagination marker); "" where the planner needs no help.
  virtual std::string UseIndex(const std::string& /*index*/) const { return ""; }
  // An inner join that reads its left operand first, whatever the planner would choose
  // (SQLite's CROSS JOIN, MariaDB's STRAIGHT_JOIN), spaces around it.
  virtual std::string JoinInOrder() const = 0;
  // A query with one `?` (a table name) that returns a row when that table exists.
  virtual std::string TableExistsQuery() const = 0;
  // A trigger on `table` (event: INSERT, UPDATE or DELETE) running `statement` for each
  // row, only when `condition` (on NEW/OLD) holds if it is not empty.
  virtual std::string AfterTrigger(const std::string& name, const std::string& table,
                                   const std::string& event, const std::string& condition,
                                   const std::string& statement) const = 0;
};

const Dialect& SqliteDialect();
const Dialect& MysqlDialect();

}  // namespace glint::sql
