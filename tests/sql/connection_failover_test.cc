// The connection pool through a failover, on a real MariaDB server behind a TCP proxy that
// behaves like HAProxy in the second before its health check marks a stopped writer down:
// it accepts connections and closes them at once (the client's handshake is cut), until it
// heals and forwards them. A call made during that window waits and then succeeds; one
// that never gets through answers Unavailable after the pool's connect deadline; a refusal
// that stays (a wrong password) answers at once.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "sql/connection_pool.h"
#include "sql/mariadb_db.h"
#include "tests/support/scratch_database.h"
#include "tests/support/test_support.h"

namespace glint::sql {
namespace {

using Clock = std::chrono::steady_clock;

class FlakyProxy {
 public:
  FlakyProxy(const std::string& host, unsigned port) : upstream_port_(port), upstream_host_(host) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(listener_, 64) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ADD_FAILURE() << "proxy cannot listen";
    }
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~FlakyProxy() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : pumps_) t.join();
    ::close(listener_);
  }
  unsigned port() const { return port_; }
  void Heal() { healed_ = true; }
  int cut() const { return cut_; }

 private:
  void Accept() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      if (!healed_) {
        ++cut_;
        ::close(client);
        continue;
      }
      pumps_.emplace_back([this, client] { Pump(client); });
    }
  }
  void Pump(int client) {
    int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    ::inet_pton(AF_INET, upstream_host_.c_str(), &a.sin_addr);
    if (::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
      char buf[16384];
      bool open = true;
      while (open && !stop_) {
        pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
        if (::poll(p, 2, 50) <= 0) continue;
        for (int i = 0; i < 2 && open; ++i) {
          if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
          ssize_t n = ::read(p[i].fd, buf, sizeof(buf));
          open = n > 0 && ::write(p[1 - i].fd, buf, static_cast<size_t>(n)) == n;
        }
      }
    }
    ::close(server);
    ::close(client);
  }

  int listener_ = -1;
  unsigned port_ = 0;
  const unsigned upstream_port_;
  const std::string upstream_host_;
  std::atomic<bool> stop_{false}, healed_{false};
  std::atomic<int> cut_{0};
  std::thread acceptor_;
  std::vector<std::thread> pumps_;  // touched by the acceptor thread only, then joined
};

class MariaDbFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string url = glint::testing::ScratchDatabaseUrl("mariadb", dir_);
    if (url.empty()) GTEST_SKIP() << "no MariaDB server ($GLINT_TEST_MARIADB)";
    auto spec = ParseConnectionUrl(url);
    ASSERT_TRUE(spec.ok());
    spec_ = *spec;
    ASSERT_FALSE(spec_.host.empty()) << "the test server is reached over TCP";
  }
  static Status SelectOne(Db& db) {
    auto st = db.Prepare("SELECT 1");
    if (!st.ok()) return st.status();
    auto row = st->Step();
    return row.ok() ? Status::Ok() : row.status();
  }
  glint::testing::TempDir dir_;
  ConnectionSpec spec_;
};

TEST_F(MariaDbFailoverTest, HandshakesCutDuringAFailoverAreRetriedUntilTheServerAnswers) {
  FlakyProxy proxy(spec_.host, spec_.port);
  ConnectionSpec via = spec_;
  via.port = proxy.port();
  std::thread heal([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // HAProxy: inter 500ms x fall 2
    proxy.Heal();
  });
  ConnectionPool pool(via);
  auto t0 = Clock::now();
  Status s = pool.WithDb([](Db& db) { return SelectOne(db); });
  auto took = Clock::now() - t0;
  heal.join();
  ASSERT_OK(s);
  EXPECT_GE(proxy.cut(), 3);  // tried again and again while cut, with a growing wait
  EXPECT_GE(took, std::chrono::milliseconds(1100));
  EXPECT_LT(took, ConnectionPool::kConnectDeadline);
}

TEST_F(MariaDbFailoverTest, AServerThatNeverAnswersIsUnavailableAfterTheDeadline) {
  FlakyProxy proxy(spec_.host, spec_.port);
  ConnectionSpec via = spec_;
  via.port = proxy.port();
  ConnectionPool pool(via);
  auto t0 = Clock::now();
  Status s = pool.WithDb([](Db& db) { return SelectOne(db); });
  auto took = Clock::now() - t0;
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  EXPECT_GE(took, ConnectionPool::kConnectDeadline - std::chrono::milliseconds(500));
  EXPECT_LT(took, ConnectionPool::kConnectDeadline + std::chrono::seconds(2));
  EXPECT_GE(proxy.cut(), 8);
}

TEST_F(MariaDbFailoverTest, AWrongPasswordIsAnsweredAtOnce) {
  ConnectionSpec wrong = spec_;
  wrong.password = "not-the-password";
  ConnectionPool pool(wrong);
  auto t0 = Clock::now();
  Status s = pool.WithDb([](Db& db) { return SelectOne(db); });
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.code(), Status::Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("(1045)"), std::string::npos) << s.ToString();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(1));
}

TEST_F(MariaDbFailoverTest, AnIdleConnectionTheServerClosedIsDroppedBeforeUse) {
  ConnectionPool pool(spec_, 1);
  int64_t id = 0;
  ASSERT_OK(pool.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare("SELECT CONNECTION_ID()");
    if (!st.ok()) return st.status();
    auto row = st->Step();
    if (!row.ok()) return row.status();
    id = st->Int(0);
    return Status::Ok();
  }));
  auto admin = OpenMariaDb(spec_);
  ASSERT_TRUE(admin.ok());
  ASSERT_OK((*admin)->Exec("KILL " + std::to_string(id)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the server closes the socket
  int attempts = 0;
  ASSERT_OK(pool.WithDb([&](Db& db) {
    ++attempts;
    return SelectOne(db);
  }));
  EXPECT_EQ(attempts, 1);  // the closed connection was never handed out
}

}  // namespace
}  // namespace glint::sql
