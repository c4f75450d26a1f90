// notify/: the oslo.messaging wire form, the transport URL, disabled event types, and the
// outbox's promises (never blocks the caller, retries until the sink takes a message,
// drops and counts beyond its capacity).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "notify/message.h"
#include "notify/notifier.h"
#include "notify/outbox.h"
#include "notify/transport_url.h"

namespace glint::notify {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TEST(NotifyMessage, EnvelopeHoldsTheMessageAsAJsonString) {
  Notification n{"image.create", Priority::kInfo, {{"id", "abc"}}};
  std::string body = EncodeMessage(n, "image.host1", {"0b6f3f5e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "ff00"},
                                   1'700'000'000'123'456, true);
  json outer = json::parse(body);
  EXPECT_EQ(outer["oslo.version"], "2.0");
  ASSERT_TRUE(outer["oslo.message"].is_string());
  json msg = json::parse(outer["oslo.message"].get<std::string>());
  EXPECT_EQ(msg["event_type"], "image.create");
  EXPECT_EQ(msg["priority"], "INFO");
  EXPECT_EQ(msg["publisher_id"], "image.host1");
  EXPECT_EQ(msg["payload"]["id"], "abc");
  EXPECT_EQ(msg["timestamp"], "2023-11-14 22:13:20.123456");
  EXPECT_EQ(msg["message_id"], "0b6f3f5e-1c2d-4e5f-8a9b-0c1d2e3f4a5b");
  EXPECT_EQ(msg["_unique_id"], "ff00");
  // The v1 form ("messaging" driver) is the message itself; whole seconds lose the fraction.
  json v1 = json::parse(EncodeMessage(n, "p", {"id", "u"}, 1'700'000'000'000'000, false));
  EXPECT_EQ(v1["timestamp"], "2023-11-14 22:13:20");
  EXPECT_EQ(RoutingKey("notifications", Priority::kError), "notifications.error");
}

TEST(NotifyMessage, BytesThatAreNotUtf8DoNotThrow) {
  Notification n{"image.update", Priority::kInfo, {{"name", std::string("\xff\xfe bad", 6)}}};
  json outer = json::parse(EncodeMessage(n, "p", {"id", "u"}, 0, true));
  EXPECT_NE(outer["oslo.message"].get<std::string>().find("bad"), std::string::npos);
}

TEST(TransportUrl, ParsesHostsCredentialsAndVhost) {
  auto u = ParseTransportUrl("rabbit://us%40er:p%3Ass@h1:5673,bob:pw@[::1]:5674/vh%2F1?ssl=0");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  ASSERT_EQ(u->hosts.size(), 2u);
  EXPECT_EQ(u->hosts[0].user, "us@er");
  EXPECT_EQ(u->hosts[0].password, "p:ss");
  EXPECT_EQ(u->hosts[0].host, "h1");
  EXPECT_EQ(u->hosts[0].port, 5673);
  EXPECT_EQ(u->hosts[1].host, "::1");
  EXPECT_EQ(u->hosts[1].port, 5674);
  EXPECT_EQ(u->vhost, "vh/1");
  EXPECT_EQ(u->Redacted().find("p:ss"), std::string::npos);
  auto d = ParseTransportUrl("rabbit://");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->hosts[0].host, "localhost");
  EXPECT_EQ(d->hosts[0].port, 5672);
  EXPECT_EQ(d->vhost, "/");
}

TEST(TransportUrl, RefusesWhatItCannotUse) {
  for (const char* bad : {"kafka://h:1/", "rabbit://h:99999/", "rabbit://h:x/", "rabbit://u:p@h:/",
                          "rabbit://[::1/", "rabbit://u:%zz@h/", "h:5672"}) {
    EXPECT_FALSE(ParseTransportUrl(bad).ok()) << bad;
  }
}

// A sink whose answers the test controls; it can also hold the publisher back.
class ScriptedSink : public Sink {
 public:
  Status Publish(const Outgoing& m) override {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return !hold; });
    ++attempts;
    if (fail_next > 0) {
      --fail_next;
      return Status::Unavailable("broker away");
    }
    got.push_back(m.body);
    return Status::Ok();
  }
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false;
  int fail_next = 0;
  int attempts = 0;
  std::vector<std::string> got;
};

OutboxOptions Fast(size_t capacity) {
  OutboxOptions o;
  o.capacity = capacity;
  o.first_backoff = 1ms;
  o.max_backoff = 4ms;
  o.drain_on_close = 100ms;
  return o;
}

TEST(Outbox, RetriesUntilTheSinkTakesEachMessageInOrder) {
  auto sink = std::make_unique<ScriptedSink>();
  ScriptedSink* s = sink.get();
  s->fail_next = 5;
  Outbox box(std::move(sink), Fast(100));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(box.Offer({"k", std::to_string(i)}));
  ASSERT_TRUE(box.WaitEmpty(5s));
  std::lock_guard<std::mutex> l(s->mu);
  EXPECT_EQ(s->got, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(s->attempts, 8);
  EXPECT_EQ(box.Stats().sent, 3u);
  EXPECT_EQ(box.Stats().failures, 5u);
}

TEST(Outbox, NeverBlocksAndCountsWhatItDrops) {
  auto sink = std::make_unique<ScriptedSink>();
  ScriptedSink* s = sink.get();
  s->hold = true;  // the broker hangs
  int accepted = 0;
  {
    Outbox box(std::move(sink), Fast(4));
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 50; ++i) accepted += box.Offer({"k", std::to_string(i)}) ? 1 : 0;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    // One message may already be with the hung sink, four more fit in the queue.
    EXPECT_GE(accepted, 4);
    EXPECT_LE(accepted, 5);
    EXPECT_EQ(box.Stats().dropped, static_cast<uint64_t>(50 - accepted));
    {
      std::lock_guard<std::mutex> l(s->mu);
      s->hold = false;
    }
    s->cv.notify_all();
    EXPECT_TRUE(box.WaitEmpty(5s));
    // Everything accepted was published (checked while the outbox still owns the sink).
    std::lock_guard<std::mutex> l(s->mu);
    EXPECT_EQ(s->got.size(), static_cast<size_t>(accepted));
  }
}

TEST(Notifier, DisabledTypesAndGroupsAreNotSent) {
  NotifierConfig c;
  c.disabled = {"image.member", "task.run", "image.upl"};
  c.topics = {"notifications", "audit"};
  auto sink = std::make_unique<ScriptedSink>();
  ScriptedSink* s = sink.get();
  ManualClock clock;
  SeededRandom random(7);
  Notifier n(c, std::move(sink), true, clock, random, Fast(100));
  EXPECT_FALSE(n.Enabled("image.member.create"));
  EXPECT_FALSE(n.Enabled("task.run"));
  EXPECT_TRUE(n.Enabled("task.success"));
  EXPECT_TRUE(n.Enabled("image.upload"));  // a prefix counts only at a dot
  n.Emit("image.member.create", json::object());
  n.Emit("image.create", {{"id", "x"}});
  ASSERT_TRUE(n.WaitEmpty(5s));
  std::lock_guard<std::mutex> l(s->mu);
  ASSERT_EQ(s->got.size(), 2u);  // once per topic
  json a = json::parse(json::parse(s->got[0])["oslo.message"].get<std::string>());
  json b = json::parse(json::parse(s->got[1])["oslo.message"].get<std::string>());
  EXPECT_EQ(a["event_type"], "image.create");
  EXPECT_NE(a["message_id"], b["message_id"]);
}

TEST(Notifier, ConfigurationIsCheckedAtStart) {
  ManualClock clock;
  SeededRandom random(1);
  NotifierConfig c;
  auto off = MakeNotifier(c, clock, random);
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(*off, nullptr);
  c.drivers = {"noop"};
  EXPECT_EQ(*MakeNotifier(c, clock, random), nullptr);
  c.drivers = {"kafka"};
  EXPECT_FALSE(MakeNotifier(c, clock, random).ok());
  c.drivers = {"messagingv2"};
  EXPECT_FALSE(MakeNotifier(c, clock, random).ok());  // no transport_url
  c.transport_url = "rabbit://guest:guest@127.0.0.1:1/";
  auto on = MakeNotifier(c, clock, random);
  ASSERT_TRUE(on.ok());
  EXPECT_NE(*on, nullptr);
}

}  // namespace
}  // namespace glint::notify
