// The connection pool on a real MariaDB server: a transaction the server rolls back as a
// deadlock victim (error 1213, what a Galera certification conflict also returns) is run
// again and then commits; a connection the server killed is replaced.
#include <atomic>
#include <chrono>
#include <thread>

#include "sql/connection_pool.h"
#include "sql/mariadb_db.h"
#include "tests/support/scratch_database.h"
#include "tests/support/test_support.h"

namespace glint::sql {
namespace {

class MariaDbPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string url = glint::testing::ScratchDatabaseUrl("mariadb", dir_);
    if (url.empty()) GTEST_SKIP() << "no MariaDB server ($GLINT_TEST_MARIADB)";
    auto spec = ParseConnectionUrl(url);
    ASSERT_TRUE(spec.ok());
    spec_ = *spec;
    auto db = OpenMariaDb(spec_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_OK((*db)->Exec("CREATE TABLE t (id INTEGER NOT NULL PRIMARY KEY, n INTEGER NOT NULL) ENGINE=InnoDB"));
    ASSERT_OK((*db)->Exec("INSERT INTO t (id, n) SELECT seq, 0 FROM seq_1_to_50"));
  }
  int64_t N(Db& db, int id) {
    auto st = db.Prepare("SELECT n FROM t WHERE id = ?");
    EXPECT_TRUE(st.ok());
    st->Bind(1, int64_t{id});
    auto row = st->Step();
    EXPECT_TRUE(row.ok() && *row);
    return st->Int(0);
  }

  glint::testing::TempDir dir_;
  ConnectionSpec spec_;
};

Status Update(Db& db, int id) {
  auto st = db.Prepare("UPDATE t SET n = n + 1 WHERE id = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, int64_t{id});
  return st->Run();
}

TEST_F(MariaDbPoolTest, DeadlockVictimIsRetriedAndCommits) {
  auto other = OpenMariaDb(spec_);
  ASSERT_TRUE(other.ok());
  std::atomic<bool> a_holds_1{false}, b_holds_2{false};
  Status a_status;
  // A locks rows 1 and 3..50 (the larger transaction, so InnoDB picks B as the victim),
  // then wants row 2, which B holds while B wants row 1.
  std::thread a([&] {
    Db& db = **other;
    Transaction tx(db);
    a_status = tx.status();
    for (int id = 1; id <= 50 && a_status.ok(); ++id) {
      if (id != 2) a_status = Update(db, id);
    }
    a_holds_1 = true;
    while (!b_holds_2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // B is now waiting for row 1
    if (a_status.ok()) a_status = Update(db, 2);
    if (a_status.ok()) a_status = tx.Commit();
  });
  ConnectionPool pool(spec_);
  int attempts = 0;
  Status b_status = pool.WithDb([&](Db& db) -> Status {
    ++attempts;
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    while (!a_holds_1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    GLINT_RETURN_IF_ERROR(Update(db, 2));
    b_holds_2 = true;
    GLINT_RETURN_IF_ERROR(Update(db, 1));
    return tx.Commit();
  });
  a.join();
  ASSERT_OK(a_status);
  ASSERT_OK(b_status);
  EXPECT_EQ(attempts, 2);  // rolled back once as the deadlock victim, then committed
  auto db = OpenMariaDb(spec_);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(N(**db, 1), 2);  // both transactions' increments, each exactly once
  EXPECT_EQ(N(**db, 2), 2);
  EXPECT_EQ(N(**db, 3), 1);
}

TEST_F(MariaDbPoolTest, ConnectionKilledDuringACallIsReplacedAndTheReadRetried) {
  ConnectionPool pool(spec_, 1);
  auto admin = OpenMariaDb(spec_);
  ASSERT_TRUE(admin.ok());
  int attempts = 0;
  int64_t n = -1;
  ASSERT_OK(pool.WithDb([&](Db& db) -> Status {
    if (++attempts == 1) {  // as a server restart or failover would, between two statements
      auto id = db.Prepare("SELECT CONNECTION_ID()");
      if (!id.ok()) return id.status();
      auto row = id->Step();
      if (!row.ok()) return row.status();
      GLINT_RETURN_IF_ERROR((*admin)->Exec("KILL " + std::to_string(id->Int(0))));
    }
    auto st = db.Prepare("SELECT n FROM t WHERE id = 7");
    if (!st.ok()) return st.status();
    auto row = st->Step();
    if (!row.ok()) return row.status();
    n = st->Int(0);
    return Status::Ok();
  }));
  EXPECT_EQ(n, 0);
  EXPECT_EQ(attempts, 2);  // the first attempt met the dead connection
}

}  // namespace
}  // namespace glint::sql
