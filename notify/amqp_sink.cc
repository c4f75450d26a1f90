#include "notify/amqp_sink.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <cstring>

namespace glint::notify {

namespace {

constexpr amqp_channel_t kChannel = 1;

amqp_bytes_t Bytes(const std::string& s) { return amqp_bytes_t{s.size(), const_cast<char*>(s.data())}; }

timeval ToTimeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

// What went wrong in the last RPC, or Ok.
Status ReplyStatus(const amqp_rpc_reply_t& r, const char* what) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return Status::Ok();
    case AMQP_RESPONSE_NONE:
      return Status::Unavailable(std::string(what) + ": no reply from the broker");
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return Status::Unavailable(std::string(what) + ": " + amqp_error_string2(r.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      break;
  }
  std::string text = "the broker refused it";
  if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD || r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);  // same layout for channel.close
    text = std::to_string(m->reply_code) + " " +
           std::string(static_cast<const char*>(m->reply_text.bytes), m->reply_text.len);
  }
  return Status::Unavailable(std::string(what) + ": " + text);
}

}  // namespace

struct AmqpSink::Connection {
  amqp_connection_state_t state = amqp_new_connection();
  bool open = false;  // the AMQP connection (not just the socket) is open
  ~Connection() {
    if (open) {
      amqp_channel_close(state, kChannel, AMQP_REPLY_SUCCESS);
      amqp_connection_close(state, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(state);
  }
};

AmqpSink::AmqpSink(AmqpOptions options) : options_(std::move(options)) {}
AmqpSink::~AmqpSink() = default;

void AmqpSink::Drop() {
  conn_.reset();
  declared_.clear();
  delivery_tag_ = 0;
}

Status AmqpSink::ConnectTo(const TransportHost& host) {
  auto c = std::make_unique<Connection>();
  if (!c->state) return Status::Internal("amqp: out of memory");
  amqp_socket_t* socket = amqp_tcp_socket_new(c->state);  // owned by the connection
  if (!socket) return Status::Internal("amqp: no socket");
  timeval tv = ToTimeval(options_.timeout);
  amqp_set_handshake_timeout(c->state, &tv);
  amqp_set_rpc_timeout(c->state, &tv);
  int rc = amqp_socket_open_noblock(socket, host.host.c_str(), host.port, &tv);
  if (rc != AMQP_STATUS_OK) {
    return Status::Unavailable("amqp: cannot connect to " + host.host + ":" + std::to_string(host.port) + ": " +
                               amqp_error_string2(rc));
  }
  GLINT_RETURN_IF_ERROR(ReplyStatus(amqp_login(c->state, options_.url.vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, 0,
                                               AMQP_SASL_METHOD_PLAIN, host.user.c_str(), host.password.c_str()),
                                    "amqp login"));
  c->open = true;
  amqp_channel_open(c->state, kChannel);
  GLINT_RETURN_IF_ERROR(ReplyStatus(amqp_get_rpc_reply(c->state), "amqp channel.open"));
  amqp_confirm_select(c->state, kChannel);
  GLINT_RETURN_IF_ERROR(ReplyStatus(amqp_get_rpc_reply(c->state), "amqp confirm.select"));
  amqp_exchange_declare(c->state, kChannel, Bytes(options_.exchange), amqp_cstring_bytes("topic"), 0, 0, 0, 0,
                        amqp_empty_table);
  GLINT_RETURN_IF_ERROR(ReplyStatus(amqp_get_rpc_reply(c->state), "amqp exchange.declare"));
  conn_ = std::move(c);
  return Status::Ok();
}

Status AmqpSink::Connect() {
  if (conn_) return Status::Ok();
  Status last = Status::Unavailable("amqp: no host in transport_url");
  for (size_t i = 0; i < options_.url.hosts.size(); ++i) {
    const TransportHost& host = options_.url.hosts[(next_host_ + i) % options_.url.hosts.size()];
    last = ConnectTo(host);
    if (last.ok()) return last;
  }
  next_host_++;  // next time, start with the next host
  return last;
}

Status AmqpSink::DeclareQueue(const std::string& routing_key) {
  if (declared_.count(routing_key)) return Status::Ok();
  amqp_queue_declare(conn_->state, kChannel, Bytes(routing_key), 0, 0, 0, 0, amqp_empty_table);
  GLINT_RETURN_IF_ERROR(ReplyStatus(amqp_get_rpc_reply(conn_->state), "amqp queue.declare"));
  amqp_queue_bind(conn_->state, kChannel, Bytes(routing_key), Bytes(options_.exchange), Bytes(routing_key),
                  amqp_empty_table);
  GLINT_RETURN_IF_ERROR(ReplyStatus(amqp_get_rpc_reply(conn_->state), "amqp queue.bind"));
  declared_.insert(routing_key);
  return Status::Ok();
}

Status AmqpSink::WaitForConfirm() {
  auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::Unavailable("amqp: the broker did not confirm the message in time");
    timeval tv = ToTimeval(left);
    amqp_frame_t frame;
    int rc = amqp_simple_wait_frame_noblock(conn_->state, &frame, &tv);
    if (rc != AMQP_STATUS_OK) return Status::Unavailable(std::string("amqp: waiting for a confirm: ") + amqp_error_string2(rc));
    if (frame.frame_type != AMQP_FRAME_METHOD || frame.channel != kChannel) continue;
    if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
      auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
      if (ack->delivery_tag == delivery_tag_ || (ack->multiple && ack->delivery_tag >= delivery_tag_)) {
        return Status::Ok();
      }
    } else if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
      return Status::Unavailable("amqp: the broker refused the message (nack)");
    } else if (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
               frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
      conn_->open = false;
      return Status::Unavailable("amqp: the broker closed the channel");
    }
  }
}

Status AmqpSink::Publish(const Outgoing& message) {
  Status s = Connect();
  if (s.ok()) s = DeclareQueue(message.routing_key);
  if (s.ok()) {
    amqp_basic_properties_t props;
    std::memset(&props, 0, sizeof props);
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.content_encoding = amqp_cstring_bytes("utf-8");
    props.delivery_mode = 2;  // persistent, as kombu sends by default
    int rc = amqp_basic_publish(conn_->state, kChannel, Bytes(options_.exchange), Bytes(message.routing_key), 0, 0,
                                &props, Bytes(message.body));
    ++delivery_tag_;
    s = rc == AMQP_STATUS_OK ? WaitForConfirm()
                             : Status::Unavailable(std::string("amqp: publish failed: ") + amqp_error_string2(rc));
  }
  if (!s.ok()) Drop();
  return s;
}

}  // namespace glint::notify
