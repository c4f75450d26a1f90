// Databases for tests that run against every SQL engine Glint supports: a SQLite file in a
// temporary directory, or a fresh database on the MariaDB server named by
// $GLINT_TEST_MARIADB (a URL without database, e.g. mysql://glint:pw@127.0.0.1:3390/, as
// tools/mariadb.sh exports it). Without that variable the MariaDB case skips, except under
// CI=true, where it fails.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "common/ids.h"
#include "sql/connection_url.h"
#include "sql/mariadb_db.h"
#include "tests/support/test_support.h"

namespace glint::testing {

inline bool InCi() {
  const char* ci = std::getenv("CI");
  std::string v = ci ? ci : "";
  return v == "1" || v == "true" || v == "yes";
}

// The connection URL of an empty database on `engine` ("sqlite" or "mariadb"); "" when
// the engine is not available here (the caller skips). Fails the test in CI.
inline std::string ScratchDatabaseUrl(const std::string& engine, const TempDir& dir) {
  if (engine == "sqlite") return "sqlite:///" + dir.path() + "/c.db";
  const char* base = std::getenv("GLINT_TEST_MARIADB");
  if (!base || !*base) {
    if (InCi()) ADD_FAILURE() << "CI=true but $GLINT_TEST_MARIADB is not set (run under tools/mariadb.sh run)";
    return "";
  }
  auto spec = sql::ParseConnectionUrl(std::string(base) + "mysql");
  if (!spec.ok()) {
    ADD_FAILURE() << spec.status().ToString();
    return "";
  }
  auto admin = sql::OpenMariaDb(*spec);
  if (!admin.ok()) {
    ADD_FAILURE() << admin.status().ToString();
    return "";
  }
  std::string name = "t_" + NewUuid().substr(0, 8);
  Status s = (*admin)->Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4");
  if (!s.ok()) {
    ADD_FAILURE() << s.ToString();
    return "";
  }
  return std::string(base) + name;
}

}  // namespace glint::testing
