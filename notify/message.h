// One notification in the wire form of oslo.messaging, which is how Glance's consumers
// (Ceilometer and any other oslo.messaging notification listener) read Glance's events off
// RabbitMQ. The "messagingv2" driver sends an envelope {"oslo.version": "2.0",
// "oslo.message": "<the message as a JSON string>"}; the older "messaging" driver sends the
// message itself. Either way it goes to the control exchange with the routing key
// "<topic>.<priority>" (for example "notifications.info").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace glint::notify {

enum class Priority { kInfo, kWarn, kError };

// "INFO", "WARN", "ERROR": the message's priority field (the routing key uses lower case).
std::string_view PriorityName(Priority p);

struct Notification {
  std::string event_type;  // "image.create", "task.success", ...
  Priority priority = Priority::kInfo;
  nlohmann::json payload;
};

// What the outbox publishes: ready to send, so a retry sends the very same bytes.
struct Outgoing {
  std::string routing_key;
  std::string body;
};

struct MessageIds {
  std::string message_id;  // a UUID, as oslo.messaging's
  std::string unique_id;   // 32 hex digits, the rabbit driver's `_unique_id`
};

// The message a listener's endpoint sees, as oslo.messaging encodes it. `micros` is the
// time (UTC), written as Python writes a datetime ("2026-11-28 22:30:00.123456").
std::string EncodeMessage(const Notification& n, std::string_view publisher_id, const MessageIds& ids,
                          int64_t micros, bool envelope);

std::string RoutingKey(std::string_view topic, Priority p);

}  // namespace glint::notify
