// Notifier: how the image API announces events (image.create, image.upload, task.success,
// ...) to other services, as Glance does through oslo.messaging. Emit() filters out
// disabled event types, encodes the message once and hands it to the outbox; it never
// blocks and never fails the caller. Built from NotifierConfig by MakeNotifier, which
// returns null when notifications are off (Glance's default: no driver configured).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "notify/message.h"
#include "notify/outbox.h"

namespace glint::notify {

// [oslo_messaging_notifications] and the [DEFAULT] options Glance reads for them.
struct NotifierConfig {
  std::vector<std::string> drivers;  // messagingv2, messaging, log, noop; empty: off
  std::string transport_url;         // rabbit://...; the section's, else [DEFAULT]'s
  std::vector<std::string> topics = {"notifications"};
  std::string publisher_id = "image.localhost";  // [DEFAULT] default_publisher_id
  std::vector<std::string> disabled;             // [DEFAULT] disabled_notifications
  std::string control_exchange = "glance";       // [DEFAULT] control_exchange
  size_t queue_size = 10000;                     // Glint: events held while the broker is away
};

class Notifier {
 public:
  Notifier(NotifierConfig config, std::unique_ptr<Sink> sink, bool envelope, const Clock& clock, Random& random,
           OutboxOptions outbox = {});

  // Queues `event_type` with `payload` for every topic, unless the type is disabled.
  void Emit(std::string_view event_type, nlohmann::json payload, Priority priority = Priority::kInfo);
  // False when disabled_notifications names the type or one of its dotted prefixes
  // ("image" and "image.member" both disable "image.member.create").
  bool Enabled(std::string_view event_type) const;
  OutboxStats Stats() const { return outbox_.Stats(); }
  bool WaitEmpty(std::chrono::milliseconds timeout) { return outbox_.WaitEmpty(timeout); }

 private:
  MessageIds NewIds();

  const NotifierConfig config_;
  const bool envelope_;
  const Clock& clock_;
  Random& random_;
  Outbox outbox_;
};

// Null (and Ok) when no driver sends anything; an error for an unknown driver or a bad URL.
Result<std::unique_ptr<Notifier>> MakeNotifier(const NotifierConfig& config, const Clock& clock, Random& random);

}  // namespace glint::notify
