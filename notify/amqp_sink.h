// AmqpSink: publishes notifications to RabbitMQ (AMQP 0-9-1, Debian's rabbitmq-c) as
// oslo.messaging's rabbit driver does, so oslo.messaging listeners receive them: a topic
// exchange named after the control exchange ("glance"), and for each routing key a queue of
// the same name bound to it (declared, as oslo.messaging declares it, so that events sent
// before any consumer starts are kept). Non-durable, not auto-deleted, like oslo's defaults.
//
// Each message is confirmed by the broker (publisher confirms) before Publish returns Ok;
// a connection that fails, or a confirm that does not come in time, is closed and the next
// Publish reconnects, trying the URL's hosts in turn. Delivery is at least once: a message
// whose confirm was lost is sent again. Used by the outbox's thread only.
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "notify/outbox.h"
#include "notify/transport_url.h"

namespace glint::notify {

struct AmqpOptions {
  TransportUrl url;
  std::string exchange = "glance";
  std::chrono::milliseconds timeout{5000};  // connect, each RPC, each confirm
};

class AmqpSink final : public Sink {
 public:
  explicit AmqpSink(AmqpOptions options);
  ~AmqpSink() override;
  Status Publish(const Outgoing& message) override;

 private:
  struct Connection;
  Status Connect();
  Status ConnectTo(const TransportHost& host);
  Status DeclareQueue(const std::string& routing_key);
  Status WaitForConfirm();
  void Drop();

  AmqpOptions options_;
  std::unique_ptr<Connection> conn_;
  std::set<std::string> declared_;  // routing keys whose queue exists on this connection
  uint64_t delivery_tag_ = 0;
  size_t next_host_ = 0;
};

}  // namespace glint::notify
