#include "sql/mariadb_db.h"

#include <mysql.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

namespace glint::sql {
namespace {

struct StmtCloser {
  void operator()(MYSQL_STMT* s) const { mysql_stmt_close(s); }
};
struct ConnCloser {
  void operator()(MYSQL* c) const { mysql_close(c); }
};
struct ResultFreer {
  void operator()(MYSQL_RES* r) const { mysql_free_result(r); }
};
using MysqlStmtPtr = std::unique_ptr<MYSQL_STMT, StmtCloser>;
using ConnPtr = std::unique_ptr<MYSQL, ConnCloser>;
using ResultPtr = std::unique_ptr<MYSQL_RES, ResultFreer>;

bool ConnectionLost(unsigned err) {
  return err == 2002 || err == 2003 || err == 2006 || err == 2013 || err == 2055;
}

// A connection that could not be opened now but may open in a moment: the server (or the
// balancer in front of it) not reachable or cutting the handshake, too many connections,
// shutting down, or a Galera node not ready. Refusals that stay (wrong password, unknown
// database) are not.
bool TransientConnectError(unsigned err) {
  return ConnectionLost(err) || err == 1040 || err == 1053 || err == 1047 || err == 2005;
}

}  // namespace

// The connection; its cursors report their errors through Fail so that every server
// error becomes a Status (and a Failure class) in one place.
class MariaDb final : public Db {
 public:
  explicit MariaDb(ConnPtr conn) : conn_(std::move(conn)) {}
  ~MariaDb() override { DropStatements(); }

  MYSQL* conn() { return conn_.get(); }

  Status Exec(const std::string& sql) override {
    if (mysql_real_query(conn_.get(), sql.data(), sql.size()) != 0) {
      return Fail("statement", mysql_errno(conn_.get()), mysql_error(conn_.get()), false);
    }
    if (MYSQL_RES* r = mysql_store_result(conn_.get())) mysql_free_result(r);
    changes_ = static_cast<int64_t>(mysql_affected_rows(conn_.get()));
    return Status::Ok();
  }
  int64_t Changes() const override { return changes_; }
  void SetChanges(int64_t n) { changes_ = n; }
  const Dialect& dialect() const override { return MysqlDialect(); }

  Status Begin() override {
    failure_ = Failure::kNone;
    beginning_ = true;  // a connection lost here (an idle one the server or HAProxy cut) changed nothing
    Status s = Exec("START TRANSACTION");
    beginning_ = false;
    in_tx_ = s.ok();
    return s;
  }
  Status Commit() override {
    committing_ = true;
    Status s = Exec("COMMIT");
    committing_ = in_tx_ = false;
    return s;
  }
  Status Rollback() override {
    in_tx_ = false;
    if (broken_) return Status::Unavailable("catalog connection lost");
    return Exec("ROLLBACK");
  }
  Failure LastFailure() const override { return failure_; }
  bool Broken() const override { return broken_; }
  // An idle connection has nothing to read: readable means the other side closed it
  // (end of file or an error; TLS may leave a record pending, which is not a close).
  bool Closed() override {
    if (broken_) return true;
    int fd = static_cast<int>(mysql_get_socket(conn_.get()));
    if (fd < 0) return true;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) == 0) return false;
    char byte;
    ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    broken_ = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    return broken_;
  }

  // One server or client error as a Status. `read` says whether the failed statement
  // only read: a read lost with its connection changed nothing.
  Status Fail(const char* what, unsigned err, const char* msg, bool read) {
    std::string text = std::string("catalog ") + what + ": " + msg + " (" + std::to_string(err) + ")";
    if (ConnectionLost(err)) {
      broken_ = true;
      bool unknown = committing_ || (!in_tx_ && !read && !beginning_);
      failure_ = unknown ? Failure::kUnknownOutcome : Failure::kLostBeforeCommit;
      return Status::Unavailable(text);
    }
    switch (err) {
      case 1213:  // deadlock, or a Galera certification conflict: rolled back
      case 1205:  // lock wait timeout
        failure_ = Failure::kRetryable;
        return Status::Unavailable(text);
      case 1047:  // Galera: the node is not ready (not yet synced, or leaving)
        broken_ = true;
        failure_ = Failure::kNodeNotReady;
        return Status::Unavailable(text);
      case 1062: case 1022: case 1451: case 1452:  // duplicate key, foreign key
        return Status::Conflict(text);
      case 1406: case 1366: case 1264:  // too long, not valid utf8mb4, out of range
        return Status::InvalidArgument(text);
      case 1969:  // max_statement_time exceeded
        return Status::Unavailable(text);
      default:
        return Status::IOError(text);
    }
  }

 protected:
  Result<std::unique_ptr<Cursor>> PrepareCursor(const std::string& sql) override;

 private:
  ConnPtr conn_;
  int64_t changes_ = 0;
  Failure failure_ = Failure::kNone;
  bool broken_ = false, in_tx_ = false, committing_ = false, beginning_ = false;
};

namespace {

// Parameters are kept as SqlValues until Step runs the statement; result columns are all
// fetched as text (the server converts numbers), into buffers sized from the stored
// result's max_length, refetched whole when a value is longer.
class MariaCursor final : public Cursor {
 public:
  MariaCursor(MariaDb* db, MysqlStmtPtr s, bool read)
      : db_(db), s_(std::move(s)), read_(read), params_(mysql_stmt_param_count(s_.get())) {}

  void Bind(int i, const SqlValue& v) override {
    if (i >= 1 && static_cast<size_t>(i) <= params_.size()) params_[static_cast<size_t>(i - 1)] = v;
  }

  Result<bool> Step() override {
    if (!executed_) {
      executed_ = true;
      GLINT_RETURN_IF_ERROR(Execute());
      if (columns_ == 0) return false;
    }
    int rc = mysql_stmt_fetch(s_.get());
    if (rc == MYSQL_NO_DATA) return false;
    if (rc == 1) return Error("fetch");
    if (rc == MYSQL_DATA_TRUNCATED) GLINT_RETURN_IF_ERROR(FetchLongColumns());
    return true;
  }

  void Reset() override {
    if (columns_) mysql_stmt_free_result(s_.get());
    executed_ = false;
    for (auto& p : params_) p = std::monostate();
  }

  int Columns() const override { return static_cast<int>(columns_); }
  bool IsNull(int col) const override { return nulls_[static_cast<size_t>(col)] != 0; }
  int64_t Int(int col) const override {
    return IsNull(col) ? 0 : std::strtoll(Text(col).c_str(), nullptr, 10);
  }
  std::string Text(int col) const override {
    auto c = static_cast<size_t>(col);
    return nulls_[c] ? std::string() : std::string(buffers_[c].data(), lengths_[c]);
  }

 private:
  Status Error(const char* what) {
    return db_->Fail(what, mysql_stmt_errno(s_.get()), mysql_stmt_error(s_.get()), read_);
  }
  Status Execute();
  Status BindResult();
  Status FetchLongColumns();

  MariaDb* db_;
  MysqlStmtPtr s_;
  bool read_;
  std::vector<SqlValue> params_;
  bool executed_ = false;
  unsigned columns_ = 0;
  std::vector<MYSQL_BIND> out_;
  std::vector<std::string> buffers_;
  std::vector<unsigned long> lengths_;
  std::vector<my_bool> nulls_, truncated_;
};

Status MariaCursor::Execute() {
  std::vector<MYSQL_BIND> in(params_.size());
  std::vector<long long> ints(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    MYSQL_BIND& b = in[i];
    b = MYSQL_BIND{};
    if (auto* n = std::get_if<int64_t>(&params_[i])) {
      ints[i] = *n;
      b.buffer_type = MYSQL_TYPE_LONGLONG;
      b.buffer = &ints[i];
    } else if (auto* s = std::get_if<std::string>(&params_[i])) {
      b.buffer_type = MYSQL_TYPE_STRING;
      b.buffer = const_cast<char*>(s->data());
      b.buffer_length = s->size();
    } else {
      b.buffer_type = MYSQL_TYPE_NULL;
    }
  }
  if (!in.empty() && mysql_stmt_bind_param(s_.get(), in.data())) return Error("bind");
  if (mysql_stmt_execute(s_.get())) return Error("execute");
  ResultPtr meta(mysql_stmt_result_metadata(s_.get()));
  if (!meta) {
    columns_ = 0;
    db_->SetChanges(static_cast<int64_t>(mysql_stmt_affected_rows(s_.get())));
    return Status::Ok();
  }
  columns_ = mysql_num_fields(meta.get());
  if (mysql_stmt_store_result(s_.get())) return Error("store result");
  MYSQL_FIELD* fields = mysql_fetch_fields(meta.get());
  buffers_.resize(columns_);
  for (unsigned i = 0; i < columns_; ++i) {
    size_t want = std::max<size_t>(fields[i].max_length, 64) + 1;
    if (buffers_[i].size() < want) buffers_[i].resize(want);
  }
  return BindResult();
}

Status MariaCursor::BindResult() {
  out_.assign(columns_, MYSQL_BIND{});
  lengths_.assign(columns_, 0);
  nulls_.assign(columns_, 0);
  truncated_.assign(columns_, 0);
  for (unsigned i = 0; i < columns_; ++i) {
    MYSQL_BIND& b = out_[i];
    b.buffer_type = MYSQL_TYPE_STRING;
    b.buffer = buffers_[i].data();
    b.buffer_length = buffers_[i].size();
    b.length = &lengths_[i];
    b.is_null = &nulls_[i];
    b.error = &truncated_[i];
  }
  if (mysql_stmt_bind_result(s_.get(), out_.data())) return Error("bind result");
  return Status::Ok();
}

// A value longer than its buffer: grow the buffer and fetch that column again.
Status MariaCursor::FetchLongColumns() {
  for (unsigned i = 0; i < columns_; ++i) {
    if (!truncated_[i]) continue;
    buffers_[i].resize(lengths_[i] + 1);
    MYSQL_BIND b{};
    b.buffer_type = MYSQL_TYPE_STRING;
    b.buffer = buffers_[i].data();
    b.buffer_length = buffers_[i].size();
    b.length = &lengths_[i];
    b.is_null = &nulls_[i];
    if (mysql_stmt_fetch_column(s_.get(), &b, i, 0)) return Error("fetch column");
  }
  return BindResult();  // the buffers moved
}

bool IsRead(const std::string& sql) {
  size_t i = sql.find_first_not_of(" \t\n(");
  return i != std::string::npos && (sql.compare(i, 6, "SELECT") == 0 || sql.compare(i, 6, "select") == 0);
}

}  // namespace

Result<std::unique_ptr<Cursor>> MariaDb::PrepareCursor(const std::string& sql) {
  MysqlStmtPtr s(mysql_stmt_init(conn_.get()));
  if (!s) return Status::Internal("mysql_stmt_init failed");
  my_bool update_max = 1;
  mysql_stmt_attr_set(s.get(), STMT_ATTR_UPDATE_MAX_LENGTH, &update_max);
  if (mysql_stmt_prepare(s.get(), sql.data(), sql.size())) {
    return Fail("prepare", mysql_stmt_errno(s.get()), mysql_stmt_error(s.get()), true);
  }
  return std::unique_ptr<Cursor>(new MariaCursor(this, std::move(s), IsRead(sql)));
}

Result<std::unique_ptr<Db>> OpenMariaDb(const ConnectionSpec& c, const SessionLimits& limits) {
  ConnPtr conn(mysql_init(nullptr));
  if (!conn) return Status::Internal("mysql_init failed");
  MYSQL* m = conn.get();
  unsigned connect = static_cast<unsigned>(limits.connect_timeout_s);
  unsigned io = static_cast<unsigned>(limits.statement_timeout_s + 10);  // the server's limit acts first
  mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect);
  mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &io);
  mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &io);
  if (!c.read_default_file.empty()) mysql_options(m, MYSQL_READ_DEFAULT_FILE, c.read_default_file.c_str());
  if (!c.read_default_group.empty()) mysql_options(m, MYSQL_READ_DEFAULT_GROUP, c.read_default_group.c_str());
  mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (!c.ssl_ca.empty()) mysql_options(m, MYSQL_OPT_SSL_CA, c.ssl_ca.c_str());
  if (!c.ssl_cert.empty()) mysql_options(m, MYSQL_OPT_SSL_CERT, c.ssl_cert.c_str());
  if (!c.ssl_key.empty()) mysql_options(m, MYSQL_OPT_SSL_KEY, c.ssl_key.c_str());
  const char* host = c.host.empty() ? nullptr : c.host.c_str();
  const char* user = c.user.empty() ? nullptr : c.user.c_str();
  const char* password = c.password.empty() && c.user.empty() ? nullptr : c.password.c_str();
  // FOUND_ROWS: an UPDATE reports the rows it matched, as SQLite does, not only those whose
  // values changed (a renewal to the same expiry is still a success).
  if (!mysql_real_connect(m, host, user, password, c.database.c_str(), c.port,
                          c.unix_socket.empty() ? nullptr : c.unix_socket.c_str(), CLIENT_FOUND_ROWS)) {
    std::string msg = std::string("cannot connect to the catalog database ") + c.database + " at " +
                      (c.unix_socket.empty() ? c.host + ":" + std::to_string(c.port) : c.unix_socket) + ": " +
                      mysql_error(m) + " (" + std::to_string(mysql_errno(m)) + ")";
    return TransientConnectError(mysql_errno(m)) ? Status::Unavailable(msg) : Status::IOError(msg);
  }
  auto db = std::make_unique<MariaDb>(std::move(conn));
  GLINT_RETURN_IF_ERROR(db->Exec(
      "SET SESSION innodb_lock_wait_timeout = " + std::to_string(limits.lock_wait_timeout_s) +
      ", max_statement_time = " + std::to_string(limits.statement_timeout_s) +
      ", wait_timeout = " + std::to_string(limits.idle_timeout_s) +
      ", sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO'"));
  // Fewer gap locks, so fewer deadlocks; Glint's writes are version-checked updates.
  GLINT_RETURN_IF_ERROR(db->Exec("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"));
  return std::unique_ptr<Db>(std::move(db));
}

}  // namespace glint::sql
