// A `[database] connection` URL (Glance's SQLAlchemy form) split into what a driver needs.
// Parsed by glint-api and glint-manage for Glint's own catalog, and by Glance adoption for
// the Glance database it reads.
#pragma once

#include <string>

#include "common/status.h"

namespace glint::sql {

// sqlite:////abs/path, sqlite:///rel/path,
// mysql[+driver]://user:password@host[:port]/db[?unix_socket=..&ssl_ca=..&read_default_file=..]
// (also mariadb[+driver]://). User and password are percent-decoded; other query keys
// (charset=utf8, ...) are accepted and ignored: Glint always talks utf8mb4.
struct ConnectionSpec {
  std::string engine;  // "sqlite" or "mysql"
  std::string path;    // sqlite
  std::string user, password, host, database, unix_socket, ssl_ca, ssl_cert, ssl_key;
  std::string read_default_file, read_default_group;  // my.cnf, as TripleO/Kolla configure it
  unsigned port = 3306;
};
Result<ConnectionSpec> ParseConnectionUrl(const std::string& url);

}  // namespace glint::sql
