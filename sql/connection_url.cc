#include "sql/connection_url.h"

#include <cstdlib>

#include "common/ids.h"

namespace glint::sql {

Result<ConnectionSpec> ParseConnectionUrl(const std::string& url) {
  ConnectionSpec c;
  auto sep = url.find("://");
  if (sep == std::string::npos) return Status::InvalidArgument("not a database URL: " + url);
  std::string scheme = url.substr(0, sep), rest = url.substr(sep + 3);
  std::string dialect = scheme.substr(0, scheme.find('+'));
  if (dialect == "sqlite") {
    // sqlite:///relative or sqlite:////absolute: what follows the third slash is the path.
    if (rest.empty() || rest[0] != '/' || rest.size() < 2) {
      return Status::InvalidArgument("a SQLite URL needs a path: sqlite:////path/to/glance.sqlite");
    }
    c.engine = "sqlite";
    c.path = rest.substr(1);
    return c;
  }
  if (dialect != "mysql" && dialect != "mariadb") {
    return Status::InvalidArgument("unsupported database '" + dialect + "': sqlite, mysql or mariadb");
  }
  c.engine = "mysql";
  std::string query;
  if (auto q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest.resize(q);
  }
  auto slash = rest.find('/');
  if (slash == std::string::npos || slash + 1 == rest.size()) {
    return Status::InvalidArgument("a MySQL URL needs a database name: mysql+pymysql://user:pw@host/glance");
  }
  c.database = PercentDecode(rest.substr(slash + 1));
  std::string netloc = rest.substr(0, slash);
  if (auto at = netloc.rfind('@'); at != std::string::npos) {
    std::string cred = netloc.substr(0, at);
    netloc = netloc.substr(at + 1);
    auto colon = cred.find(':');
    c.user = PercentDecode(cred.substr(0, colon));
    if (colon != std::string::npos) c.password = PercentDecode(cred.substr(colon + 1));
  }
  std::string port;
  if (!netloc.empty() && netloc[0] == '[') {  // [IPv6]:port
    auto close = netloc.find(']');
    if (close == std::string::npos) return Status::InvalidArgument("bad host in " + url);
    c.host = netloc.substr(1, close - 1);
    if (close + 1 < netloc.size() && netloc[close + 1] == ':') port = netloc.substr(close + 2);
  } else if (auto colon = netloc.find(':'); colon != std::string::npos) {
    c.host = netloc.substr(0, colon);
    port = netloc.substr(colon + 1);
  } else {
    c.host = netloc;
  }
  if (!port.empty()) {
    char* end = nullptr;
    unsigned long p = std::strtoul(port.c_str(), &end, 10);
    if (*end || p == 0 || p > 65535) return Status::InvalidArgument("bad port '" + port + "' in database URL");
    c.port = static_cast<unsigned>(p);
  }
  size_t pos = 0;
  while (pos <= query.size() && !query.empty()) {
    auto amp = query.find('&', pos);
    std::string part = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    auto eq = part.find('=');
    std::string key = PercentDecode(part.substr(0, eq), true);
    std::string value = eq == std::string::npos ? "" : PercentDecode(part.substr(eq + 1), true);
    if (key == "unix_socket") c.unix_socket = value;
    if (key == "ssl_ca") c.ssl_ca = value;
    if (key == "ssl_cert") c.ssl_cert = value;
    if (key == "ssl_key") c.ssl_key = value;
    if (key == "read_default_file") c.read_default_file = value;
    if (key == "read_default_group") c.read_default_group = value;
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return c;
}

}  // namespace glint::sql
