// The SQLite wrapper: the prepared-statement cache must never finalize a statement that a
// live Stmt is still using, however many distinct SQL texts are prepared meanwhile.
#include <string>
#include <vector>

#include "sql/sqlite_db.h"
#include "tests/support/test_support.h"

namespace glint::sql {
namespace {

class SqliteDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = OpenSqlite(dir_.path() + "/t.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    ASSERT_OK(db_->Exec("CREATE TABLE t (n BIGINT NOT NULL)"));
    ASSERT_OK(db_->Exec("INSERT INTO t (n) VALUES (1), (2), (3)"));
  }

  // Prepares and runs `count` statements that differ in their text, so each one is new to
  // the cache.
  void PrepareDistinct(int count, int offset = 0) {
    for (int i = 0; i < count; ++i) {
      auto st = db_->Prepare("SELECT n + " + std::to_string(offset + i) + " FROM t");
      ASSERT_TRUE(st.ok()) << st.status().ToString();
      auto row = st->Step();
      ASSERT_TRUE(row.ok() && *row);
      EXPECT_EQ(st->Int(0), 1 + offset + i);
    }
  }

  glint::testing::TempDir dir_;
  std::unique_ptr<Db> db_;
};

TEST_F(SqliteDbTest, BorrowedStatementSurvivesCacheOverflow) {
  auto held = db_->Prepare("SELECT n FROM t ORDER BY n");
  ASSERT_TRUE(held.ok());
  auto row = held->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(held->Int(0), 1);

  PrepareDistinct(static_cast<int>(2 * Db::kStatementCacheLimit + 10));

  // The held statement is still the same query, positioned after its first row.
  row = held->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(held->Int(0), 2);
  row = held->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(held->Int(0), 3);
  row = held->Step();
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(*row);
}

TEST_F(SqliteDbTest, SeveralBorrowedStatementsSurviveRepeatedOverflows) {
  std::vector<Stmt> held;
  for (int i = 0; i < 3; ++i) {
    auto st = db_->Prepare("SELECT n * " + std::to_string(10 + i) + " FROM t ORDER BY n");
    ASSERT_TRUE(st.ok());
    held.push_back(std::move(st).value());
  }
  for (int round = 0; round < 4; ++round) {
    PrepareDistinct(static_cast<int>(Db::kStatementCacheLimit), round * 100000);
  }
  for (int i = 0; i < 3; ++i) {
    auto row = held[i].Step();
    ASSERT_TRUE(row.ok() && *row);
    EXPECT_EQ(held[i].Int(0), 10 + i);
  }
}

TEST_F(SqliteDbTest, SameSqlNestedInsideItsOwnUseGetsItsOwnStatement) {
  const std::string sql = "SELECT n FROM t WHERE n >= ? ORDER BY n";
  auto outer = db_->Prepare(sql);
  ASSERT_TRUE(outer.ok());
  outer->Bind(1, int64_t{2});
  auto row = outer->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(outer->Int(0), 2);
  {
    auto inner = db_->Prepare(sql);
    ASSERT_TRUE(inner.ok());
    inner->Bind(1, int64_t{1});
    auto r = inner->Step();
    ASSERT_TRUE(r.ok() && *r);
    EXPECT_EQ(inner->Int(0), 1);
  }
  row = outer->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(outer->Int(0), 3);
}

TEST_F(SqliteDbTest, CachedStatementIsResetAndReusedAfterItsStmtDies) {
  const std::string sql = "SELECT n FROM t WHERE n = ?";
  for (int64_t n = 1; n <= 3; ++n) {
    auto st = db_->Prepare(sql);
    ASSERT_TRUE(st.ok());
    st->Bind(1, n);
    auto row = st->Step();
    ASSERT_TRUE(row.ok() && *row);
    EXPECT_EQ(st->Int(0), n);
  }
}

}  // namespace
}  // namespace glint::sql
