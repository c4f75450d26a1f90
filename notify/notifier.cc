#include "notify/notifier.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "notify/amqp_sink.h"
#include "notify/transport_url.h"

namespace glint::notify {

namespace {

// The "log" driver: each message as one log line.
class LogSink final : public Sink {
 public:
  Status Publish(const Outgoing& m) override {
    spdlog::info("notification {}: {}", m.routing_key, m.body);
    return Status::Ok();
  }
};

std::string Hex(const unsigned char* b, size_t n) {
  std::string out;
  char buf[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", b[i]);
    out += buf;
  }
  return out;
}

}  // namespace

Notifier::Notifier(NotifierConfig config, std::unique_ptr<Sink> sink, bool envelope, const Clock& clock,
                   Random& random, OutboxOptions outbox)
    : config_(std::move(config)),
      envelope_(envelope),
      clock_(clock),
      random_(random),
      outbox_(std::move(sink), [&] {
        outbox.capacity = config_.queue_size;
        return outbox;
      }()) {}

bool Notifier::Enabled(std::string_view event_type) const {
  for (const auto& d : config_.disabled) {
    if (d.empty()) continue;
    if (event_type == d) return false;
    if (event_type.size() > d.size() && event_type.substr(0, d.size()) == d && event_type[d.size()] == '.') {
      return false;
    }
  }
  return true;
}

MessageIds Notifier::NewIds() {
  unsigned char b[32];
  if (!random_.Fill(b, sizeof b).ok()) std::fill(std::begin(b), std::end(b), 0);  // ids only, never secrets
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // a version 4 UUID
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  std::string h = Hex(b, 16);
  return {h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20),
          Hex(b + 16, 16)};
}

void Notifier::Emit(std::string_view event_type, nlohmann::json payload, Priority priority) {
  if (!Enabled(event_type)) return;
  Notification n{std::string(event_type), priority, std::move(payload)};
  int64_t now = clock_.NowMicros();
  for (const auto& topic : config_.topics) {
    outbox_.Offer({RoutingKey(topic, priority), EncodeMessage(n, config_.publisher_id, NewIds(), now, envelope_)});
  }
}

Result<std::unique_ptr<Notifier>> MakeNotifier(const NotifierConfig& config, const Clock& clock, Random& random) {
  std::vector<std::string> drivers;
  for (const auto& d : config.drivers) {
    if (d == "noop" || d.empty()) continue;
    if (d != "messagingv2" && d != "messaging" && d != "log") {
      return Status::InvalidArgument("[oslo_messaging_notifications] driver '" + d.substr(0, 40) +
                                     "' is not supported (messagingv2, messaging, log or noop)");
    }
    drivers.push_back(d);
  }
  if (drivers.empty()) return std::unique_ptr<Notifier>();
  if (drivers.size() > 1) {
    return Status::InvalidArgument("[oslo_messaging_notifications] driver: name one of messagingv2, messaging, log");
  }
  if (drivers[0] == "log") {
    return std::make_unique<Notifier>(config, std::make_unique<LogSink>(), true, clock, random);
  }
  if (config.transport_url.empty()) {
    return Status::InvalidArgument("[oslo_messaging_notifications] driver " + drivers[0] +
                                   " needs a transport_url (rabbit://USER:PASS@HOST:PORT/)");
  }
  auto url = ParseTransportUrl(config.transport_url);
  if (!url.ok()) return url.status();
  spdlog::info("notifications: {} to {} (exchange {})", drivers[0], url->Redacted(), config.control_exchange);
  AmqpOptions options{*url, config.control_exchange};
  return std::make_unique<Notifier>(config, std::make_unique<AmqpSink>(options), drivers[0] == "messagingv2", clock,
                                    random);
}

}  // namespace glint::notify
