// The MySQL/MariaDB side of Glance adoption, on libmariadb (the C client Debian ships).
#include <mysql.h>

#include "catalog/glance_import.h"

namespace glint::catalog {
namespace {

class MysqlGlanceSource : public GlanceSource {
 public:
  explicit MysqlGlanceSource(MYSQL* db) : db_(db) {}
  ~MysqlGlanceSource() override { mysql_close(db_); }

  Result<std::vector<Row>> Query(const std::string& sql, const std::optional<std::string>& param) override {
    std::string text = sql;
    if (param) {
      // The one parameter is a value read from this database (an image id); it is escaped
      // for the connection's character set and quoted.
      std::string escaped(param->size() * 2 + 1, '\0');
      unsigned long n = mysql_real_escape_string(db_, escaped.data(), param->data(), param->size());
      if (n == static_cast<unsigned long>(-1)) return Status::InvalidArgument("cannot escape " + *param);
      escaped.resize(n);
      auto q = text.find('?');
      if (q != std::string::npos) text.replace(q, 1, "'" + escaped + "'");
    }
    if (mysql_real_query(db_, text.data(), text.size()) != 0) return Error("query");
    MYSQL_RES* res = mysql_store_result(db_);
    if (!res) return mysql_field_count(db_) == 0 ? Result<std::vector<Row>>(std::vector<Row>{}) : Error("result");
    std::vector<Row> rows;
    unsigned n = mysql_num_fields(res);
    while (MYSQL_ROW r = mysql_fetch_row(res)) {
      unsigned long* len = mysql_fetch_lengths(res);
      Row row(n);
      for (unsigned i = 0; i < n; ++i) {
        if (r[i]) row[i] = std::string(r[i], len[i]);
      }
      rows.push_back(std::move(row));
    }
    mysql_free_result(res);
    return rows;
  }

  Status Error(const std::string& what) const {
    unsigned err = mysql_errno(db_);
    std::string msg = "MySQL " + what + ": " + mysql_error(db_);
    // 2002/2003/2006/2013: cannot connect or the server went away.
    if (err == 2002 || err == 2003 || err == 2006 || err == 2013) return Status::Unavailable(msg);
    if (err == 1045 || err == 1044) return Status::PermissionDenied(msg);  // access denied
    if (err == 1049 || err == 1146) return Status::NotFound(msg);         // no such database / table
    return Status::IOError(msg);
  }

 private:
  MYSQL* db_;
};

}  // namespace

Result<std::unique_ptr<GlanceSource>> OpenMysqlGlanceSource(const GlanceConnection& c) {
  MYSQL* db = mysql_init(nullptr);
  if (!db) return Status::Internal("mysql_init failed");
  auto source = std::make_unique<MysqlGlanceSource>(db);  // closes db on every return
  unsigned timeout = 10, io_timeout = 300;  // a stalled server fails the import, not hangs it
  mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
  mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
  // Deployments that keep credentials in a my.cnf (read_default_file=...): read it first,
  // so what the URL names explicitly still wins.
  if (!c.read_default_file.empty()) mysql_options(db, MYSQL_READ_DEFAULT_FILE, c.read_default_file.c_str());
  if (!c.read_default_group.empty()) mysql_options(db, MYSQL_READ_DEFAULT_GROUP, c.read_default_group.c_str());
  mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (!c.ssl_ca.empty()) mysql_options(db, MYSQL_OPT_SSL_CA, c.ssl_ca.c_str());
  if (!c.ssl_cert.empty()) mysql_options(db, MYSQL_OPT_SSL_CERT, c.ssl_cert.c_str());
  if (!c.ssl_key.empty()) mysql_options(db, MYSQL_OPT_SSL_KEY, c.ssl_key.c_str());
  const char* host = c.host.empty() ? nullptr : c.host.c_str();
  const char* user = c.user.empty() ? nullptr : c.user.c_str();
  const char* password = c.password.empty() && c.user.empty() ? nullptr : c.password.c_str();
  if (!mysql_real_connect(db, host, user, password, c.database.c_str(), c.port,
                          c.unix_socket.empty() ? nullptr : c.unix_socket.c_str(), 0)) {
    return source->Error("connect to " + (c.unix_socket.empty() ? c.host : c.unix_socket));
  }
  // One consistent snapshot for the whole import (InnoDB, REPEATABLE READ).
  for (const char* sql : {"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                          "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"}) {
    auto r = source->Query(sql, std::nullopt);
    if (!r.ok()) return r.status();
  }
  auto tables = source->Query("SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() "
                              "AND table_name = 'images'", std::nullopt);
  if (!tables.ok()) return tables.status();
  if (tables->empty() || (*tables)[0][0].value_or("0") == "0") {
    return Status::NotFound("no Glance catalog (table `images`) in database " + c.database);
  }
  return std::unique_ptr<GlanceSource>(std::move(source));
}

}  // namespace glint::catalog
