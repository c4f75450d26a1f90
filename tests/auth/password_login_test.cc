// Password logins (auth/password_login.h) on a ManualClock with a hasher that counts key
// derivations: an unknown user costs one derivation like a known one, failures lock a user
// and a source address for a window, refused attempts derive nothing, and the counters are
// shared by every node on the same database.
#include <gtest/gtest.h>

#include <atomic>

#include "auth/identity.h"
#include "auth/password_login.h"
#include "common/clock.h"
#include "sql/sqlite_db.h"
#include "tests/support/test_support.h"

namespace glint::auth {
namespace {

// The real PBKDF2, counted. With `cheap_dummy` the dummy hash is a marker that verifies
// nothing without a derivation (for tests that make many unknown-user attempts).
class CountingHasher final : public PasswordHasher {
 public:
  std::atomic<int> verifies{0};
  bool cheap_dummy = false;
  std::string Hash(const std::string& password) override { return DefaultPasswordHasher().Hash(password); }
  bool Verify(const std::string& password, const std::string& stored) override {
    ++verifies;
    if (stored == kCheap) return false;
    return DefaultPasswordHasher().Verify(password, stored);
  }
  const std::string& DummyHash() override { return cheap_dummy ? kCheap : DefaultPasswordHasher().DummyHash(); }

 private:
  const std::string kCheap = "cheap-dummy";
};

class PasswordLoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Open();
    auto u = store_->CreateUser("alice", "right", std::nullopt);
    ASSERT_TRUE(u.ok());
    alice_id_ = u->id;
    ASSERT_TRUE(store_->CreateUser("bob", "bobs", std::nullopt).ok());
  }
  std::unique_ptr<IdentityStore> Open() {
    Status s;
    auto store = OpenIdentityStore("sqlite:///" + dir_.path() + "/id.db", &s);
    EXPECT_TRUE(store) << s.ToString();
    return store;
  }
  static LoginAttempt Try(std::string user, std::string password, std::string source = "192.0.2.1") {
    LoginAttempt a;
    a.user = std::move(user);
    a.password = std::move(password);
    a.source = std::move(source);
    return a;
  }
  // How many derivations one attempt ran, and its answer.
  std::pair<int, Status> Cost(PasswordLogin& login, const LoginAttempt& a) {
    int before = hasher_.verifies;
    auto r = login.Login(a);
    return {hasher_.verifies - before, r.status()};
  }

  glint::testing::TempDir dir_;
  ManualClock clock_;
  CountingHasher hasher_;
  std::unique_ptr<IdentityStore> store_;
  std::string alice_id_;
  LoginLimits limits_{3, 5, 300};
};

TEST_F(PasswordLoginTest, EveryCheckedAttemptCostsOneDerivation) {
  PasswordLogin login(*store_, {0, 0, 300}, clock_, hasher_);
  LoginAttempt other_domain = Try("alice", "right");
  other_domain.known_domain = false;
  LoginAttempt unknown_id = Try("0123456789abcdef", "x");
  unknown_id.by_id = true;
  LoginAttempt by_id = Try(alice_id_, "right");
  by_id.by_id = true;
  for (const auto& a : {Try("alice", "wrong"), Try("nobody", "wrong"), other_domain, unknown_id}) {
    auto [cost, status] = Cost(login, a);
    EXPECT_EQ(cost, 1) << a.user;
    EXPECT_EQ(status.code(), Status::Code::kUnauthenticated) << a.user;
    EXPECT_EQ(status.message(), "The request you have made requires authentication.");
  }
  for (const auto& a : {Try("alice", "right"), by_id}) {
    auto [cost, status] = Cost(login, a);
    EXPECT_EQ(cost, 1);
    EXPECT_TRUE(status.ok()) << status.ToString();
  }
}

TEST_F(PasswordLoginTest, FailuresLockTheUserWithoutFurtherDerivations) {
  PasswordLogin login(*store_, limits_, clock_, hasher_);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Cost(login, Try("alice", "wrong")).first, 1);
  auto [cost, status] = Cost(login, Try("alice", "right"));  // even the right password
  EXPECT_EQ(cost, 0);
  EXPECT_EQ(status.code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(status.message(), "The account is locked for user: alice.");
  // By id, the same user is locked too; another user is not.
  LoginAttempt by_id = Try(alice_id_, "right");
  by_id.by_id = true;
  EXPECT_EQ(Cost(login, by_id).first, 0);
  EXPECT_TRUE(login.Login(Try("bob", "bobs")).ok());
}

TEST_F(PasswordLoginTest, TheLockEndsWhenTheWindowHasPassed) {
  PasswordLogin login(*store_, limits_, clock_, hasher_);
  for (int i = 0; i < 3; ++i) (void)login.Login(Try("alice", "wrong"));
  clock_.AdvanceSeconds(299);
  EXPECT_FALSE(login.Login(Try("alice", "right")).ok());
  clock_.AdvanceSeconds(2);  // 301 s after the last failure
  EXPECT_TRUE(login.Login(Try("alice", "right")).ok());
  // An old failure does not count towards a new lock: two new ones are not three.
  (void)login.Login(Try("alice", "wrong"));
  clock_.AdvanceSeconds(301);
  (void)login.Login(Try("alice", "wrong"));
  (void)login.Login(Try("alice", "wrong"));
  EXPECT_TRUE(login.Login(Try("alice", "right")).ok());
}

TEST_F(PasswordLoginTest, ASuccessResetsTheUsersCounter) {
  PasswordLogin login(*store_, limits_, clock_, hasher_);
  for (int round = 0; round < 3; ++round) {
    (void)login.Login(Try("alice", "wrong", "192.0.2." + std::to_string(round)));
    (void)login.Login(Try("alice", "wrong", "192.0.2." + std::to_string(round)));
    EXPECT_TRUE(login.Login(Try("alice", "right", "192.0.2." + std::to_string(round))).ok()) << round;
  }
}

TEST_F(PasswordLoginTest, AnUnknownUserLocksExactlyAsAKnownOne) {
  PasswordLogin login(*store_, limits_, clock_, hasher_);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Cost(login, Try("nobody", "wrong", "192.0.2.9")).first, 1);
  auto [cost, status] = Cost(login, Try("nobody", "wrong", "192.0.2.9"));
  EXPECT_EQ(cost, 0);
  EXPECT_EQ(status.message(), "The account is locked for user: nobody.");
}

TEST_F(PasswordLoginTest, AnAddressIsLimitedAcrossUserNames) {
  PasswordLogin login(*store_, limits_, clock_, hasher_);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Cost(login, Try("user" + std::to_string(i), "x", "198.51.100.7")).first, 1);
  auto [cost, status] = Cost(login, Try("alice", "right", "198.51.100.7"));
  EXPECT_EQ(cost, 0);
  EXPECT_EQ(status.code(), Status::Code::kUnauthenticated);
  EXPECT_NE(status.message().find("from this address"), std::string::npos);
  // Another address is not affected, and alice's own counter was never touched.
  EXPECT_TRUE(login.Login(Try("alice", "right", "198.51.100.8")).ok());
  clock_.AdvanceSeconds(301);
  EXPECT_TRUE(login.Login(Try("alice", "right", "198.51.100.7")).ok());
}

TEST_F(PasswordLoginTest, NodesOnOneDatabaseShareTheCounters) {
  auto other_node = Open();
  PasswordLogin a(*store_, limits_, clock_, hasher_), b(*other_node, limits_, clock_, hasher_);
  (void)a.Login(Try("alice", "wrong"));
  (void)b.Login(Try("alice", "wrong"));
  (void)a.Login(Try("alice", "wrong"));
  EXPECT_EQ(Cost(b, Try("alice", "right")).first, 0);
}

TEST_F(PasswordLoginTest, ExpiredCountersArePruned) {
  hasher_.cheap_dummy = true;
  PasswordLogin login(*store_, {3, 0, 300}, clock_, hasher_);
  for (int i = 0; i < 100; ++i) (void)login.Login(Try("probe" + std::to_string(i), "x"));
  auto rows = [&] {
    auto db = sql::OpenSqlite(dir_.path() + "/id.db");
    EXPECT_TRUE(db.ok());
    auto st = (*db)->Prepare("SELECT COUNT(*) FROM identity_login_failures");
    EXPECT_TRUE(st.ok());
    EXPECT_TRUE(st->Step().ok());
    return st->Int(0);
  };
  EXPECT_EQ(rows(), 100);
  clock_.AdvanceSeconds(301);
  for (int i = 0; i < 64; ++i) (void)login.Login(Try("later" + std::to_string(i), "x"));
  EXPECT_LE(rows(), 64);  // the 100 past their window are gone
}

}  // namespace
}  // namespace glint::auth
