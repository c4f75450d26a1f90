// The catalog suites' fixture: one catalog per test on the engine given as the test's
// parameter (SQLite in a temporary directory, or a scratch MariaDB database; skipped
// where that engine is not available).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/ids.h"
#include "tests/support/scratch_database.h"
#include "tests/support/test_support.h"

namespace glint::catalog {

class CatalogTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    url_ = glint::testing::ScratchDatabaseUrl(GetParam(), dir_);
    if (url_.empty()) GTEST_SKIP() << GetParam() << " is not available here";
    if (GetParam() != "sqlite") {  // a server database is synced by glint-manage db-sync
      Status s;
      EXPECT_FALSE(OpenCatalog(url_, &s));
      EXPECT_NE(s.message().find("db-sync"), std::string::npos) << s.ToString();
      ASSERT_TRUE(SyncCatalogSchema(url_).ok());
    }
    Status s;
    catalog_ = OpenCatalog(url_, &s);
    ASSERT_TRUE(catalog_) << s.ToString();
  }
  ImageRecord Make(const std::string& name, int64_t created) {
    ImageRecord r;
    r.id = NewUuid();
    r.name = name;
    r.created_at = r.updated_at = created;
    return r;
  }
  std::vector<std::string> Names(const std::vector<ImageRecord>& v) {
    std::vector<std::string> out;
    for (const auto& r : v) out.push_back(r.name.value_or("<null>"));
    return out;
  }
  ListQuery Admin() {
    ListQuery q;
    q.viewer.is_admin = true;
    return q;
  }

  glint::testing::TempDir dir_;
  std::string url_;
  std::unique_ptr<Catalog> catalog_;
};

}  // namespace glint::catalog
