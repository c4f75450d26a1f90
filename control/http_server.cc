#include "control/http_server.h"

#include <spdlog/spdlog.h>

#include <csignal>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <cerrno>
#include <thread>

#include "common/ids.h"
#include "control/http_errors.h"
#include "control/http_server_impl.h"

namespace glint::control {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr auto kAcceptPause = std::chrono::milliseconds(100);
constexpr auto kRejectLinger = std::chrono::seconds(1);

// Accept failed for want of a resource that only closing connections gives back.
bool OutOfDescriptors(const beast::error_code& ec) {
  return ec == net::error::no_descriptors || ec == beast::error_code(ENFILE, beast::system_category()) ||
         ec == net::error::no_buffer_space || ec == net::error::no_memory;
}

// A connection beyond max_connections: answered 503 at once, without reading its request,
// then closed. It reads (and drops) what the client sends for a moment first, so that the
// client's request bytes do not make the kernel reset the connection before the answer is
// read.
class Rejection : public std::enable_shared_from_this<Rejection> {
 public:
  Rejection(tcp::socket socket, const HttpServer::Impl& server) : stream_(std::move(socket)) {
    HttpRequest req;
    req.request_id = "req-" + NewUuid();
    HttpResponse r = ErrorResponse(Status::Unavailable(
        "This server is at its limit of " + std::to_string(server.config.max_connections) +
        " connections; retry later"));
    server.api.Decorate(req, r);
    res_.result(http::status::service_unavailable);
    for (auto& [k, v] : r.headers) res_.insert(k, v);
    res_.set(http::field::retry_after, "1");
    res_.body() = std::move(r.body);
    res_.keep_alive(false);
    res_.prepare_payload();
  }

  void Start() {
    stream_.expires_after(kRejectLinger);
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      self->Discard();
    });
  }

 private:
  void Discard() {
    stream_.async_read_some(net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec) self->Discard();  // else the peer closed or the linger is over: the stream closes
    });
  }

  beast::tcp_stream stream_;
  http::response<http::string_body> res_;
  char discard_[4096];
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this()](beast::error_code ec,
                                                                          tcp::socket socket) {
    self->OnAccept(ec, std::move(socket));
  });
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (OutOfDescriptors(ec)) {
      // The pending connection stays in the backlog, so accepting again at once fails
      // again at once: pause until connections close instead of spinning a core.
      if (!out_of_descriptors) {
        spdlog::error("accept failed: {} ({} connections open); retrying every {} ms until some close",
                      ec.message(), connections.load(), kAcceptPause.count());
        out_of_descriptors = true;
      }
      accept_pause.expires_after(kAcceptPause);
      accept_pause.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec && self->acceptor.is_open()) self->Accept();
      });
      return;
    }
    spdlog::warn("accept failed: {}", ec.message());
    return Accept();
  }
  if (out_of_descriptors) {
    spdlog::info("accepting connections again ({} open)", connections.load());
    out_of_descriptors = false;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (connections.load() >= config.max_connections) {
    std::make_shared<Rejection>(std::move(socket), *this)->Start();
  } else {
    StartSession(std::move(socket), shared_from_this());
  }
  Accept();
}

void HttpServer::Impl::Drain(std::chrono::steady_clock::time_point deadline) {
  if (active == 0 || std::chrono::steady_clock::now() >= deadline) {
    if (active != 0) spdlog::warn("stopping with {} requests still in flight", active.load());
    ioc.stop();
    return;
  }
  drain_timer.expires_after(std::chrono::milliseconds(50));
  drain_timer.async_wait([self = shared_from_this(), deadline](beast::error_code) { self->Drain(deadline); });
}

HttpServer::HttpServer(ApiService& api, const Config& config, WorkerPool& pool)
    : impl_(std::make_shared<Impl>(api, config, pool)) {}
HttpServer::~HttpServer() = default;

Status HttpServer::Listen(const std::string& host, int port) {
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("bad bind_host " + host + ": " + ec.message());
  tcp::endpoint ep(address, static_cast<unsigned short>(port));
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IOError("cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  }
  return Status::Ok();
}

int HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

void HttpServer::Run(int threads) {
  impl_->Accept();
  net::signal_set signals(impl_->ioc, SIGINT, SIGTERM);
  signals.async_wait([this](beast::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: draining and stopping", sig);
    Stop();
  });
  std::vector<std::thread> extra;
  for (int i = 1; i < threads; ++i) extra.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : extra) t.join();
}

void HttpServer::Impl::StopAccepting() {
  if (stopping.exchange(true)) return;
  beast::error_code ignored;
  acceptor.close(ignored);
  accept_pause.cancel();
  if (active != 0) spdlog::info("stopped accepting; waiting up to {} s for {} requests in flight", config.drain_timeout, active.load());
  Drain(std::chrono::steady_clock::now() + std::chrono::seconds(std::max(0, config.drain_timeout)));
}

void HttpServer::Stop() {
  net::post(impl_->ioc, [impl = impl_] {
    if (impl->draining.exchange(true)) return;
    impl->api.SetDraining();
    if (impl->config.drain_delay <= 0) return impl->StopAccepting();
    spdlog::info("draining: /healthcheck answers 503; accepting for {} s more", impl->config.drain_delay);
    impl->drain_timer.expires_after(std::chrono::seconds(impl->config.drain_delay));
    impl->drain_timer.async_wait([impl](beast::error_code) { impl->StopAccepting(); });
  });
}

}  // namespace glint::control
