#include "sql/dialect.h"

namespace glint::sql {
namespace {

class Sqlite final : public Dialect {
 public:
  std::string Name() const override { return "sqlite"; }
  std::string TableOptions() const override { return ""; }
  std::string JoinInOrder() const override { return " CROSS JOIN "; }
  std::string InsertIgnore() const override { return "INSERT OR IGNORE"; }
  std::string UpsertClause(const std::string& key, const std::string& column) const override {
    return " ON CONFLICT (" + key + ") DO UPDATE SET " + column + " = excluded." + column;
  }
  std::string AutoIncrementKey() const override { return "INTEGER PRIMARY KEY AUTOINCREMENT"; }
  std::string LargeText() const override { return "TEXT"; }
  std::string NowMicros() const override {
    return "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)";
  }
  std::string TableExistsQuery() const override {
    return "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?";
  }
  std::string AfterTrigger(const std::string& name, const std::string& table, const std::string& event,
                           const std::string& condition, const std::string& statement) const override {
    return "CREATE TRIGGER " + name + " AFTER " + event + " ON " + table +
           (condition.empty() ? "" : " WHEN " + condition) + " BEGIN " + statement + "; END";
  }
};

// MariaDB (and MySQL): InnoDB for transactions and Galera, utf8mb4 for all of Unicode,
// and a binary no-pad collation so that comparisons, uniqueness and sort order are
// byte-wise as on SQLite ('a' <> 'A', 'a' <> 'a ').
class Mysql final : public Dialect {
 public:
  std::string Name() const override { return "mysql"; }
  std::string UseIndex(const std::string& index) const override { return " FORCE INDEX (" + index + ")"; }
  std::string JoinInOrder() const override { return " STRAIGHT_JOIN "; }
  std::string TableOptions() const override {
    return " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin";
  }
  std::string InsertIgnore() const override { return "INSERT IGNORE"; }
  std::string UpsertClause(const std::string&, const std::string& column) const override {
    return " ON DUPLICATE KEY UPDATE " + column + " = VALUES(" + column + ")";
  }
  std::string AutoIncrementKey() const override { return "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY"; }
  std::string LargeText() const override { return "MEDIUMTEXT"; }
  std::string NowMicros() const override { return "CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)"; }
  std::string TableExistsQuery() const override {
    return "SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?";
  }
  std::string AfterTrigger(const std::string& name, const std::string& table, const std::string& event,
                           const std::string& condition, const std::string& statement) const override {
    std::string body = condition.empty() ? statement : "IF " + condition + " THEN " + statement + "; END IF";
    return "CREATE TRIGGER " + name + " AFTER " + event + " ON " + table + " FOR EACH ROW BEGIN " + body +
           "; END";
  }
};

}  // namespace

const Dialect& SqliteDialect() {
  static const Sqlite d;
  return d;
}

const Dialect& MysqlDialect() {
  static const Mysql d;
  return d;
}

}  // namespace glint::sql
