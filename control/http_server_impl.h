// HttpServer's insides, shared by the listener (http_server.cc: accept, connection cap,
// drain) and the sessions (http_session.cc: one connection's requests). Private to the
// glint_http library; the only headers that pull in Asio.
//
// Threads: the io_context runs on the network threads; each connection has its own strand.
// The counters are atomics read and written from any of them.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange unincluded

#include <boost/asio.hpp>

#include "control/http_server.h"

namespace glint::control {

namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(ApiService& a, const Config& c, WorkerPool& p)
      : api(a), config(c), pool(p), acceptor(ioc), drain_timer(ioc), accept_pause(ioc) {}

  ApiService& api;
  const Config& config;
  WorkerPool& pool;
  net::io_context ioc;
  tcp::acceptor acceptor;
  net::steady_timer drain_timer;
  net::steady_timer accept_pause;      // accepting again after descriptors ran out
  std::atomic<int> active{0};          // requests in flight (drained on stop)
  std::atomic<int> connections{0};     // open client connections, against max_connections
  std::atomic<bool> draining{false};   // SIGTERM seen: health 503, connections closed after each answer
  std::atomic<bool> stopping{false};   // no longer accepting; waiting for requests in flight
  bool out_of_descriptors = false;     // in a burst of EMFILE/ENFILE (accept handler only)

  void Accept();
  void OnAccept(boost::system::error_code ec, tcp::socket socket);
  void StopAccepting();
  void Drain(std::chrono::steady_clock::time_point deadline);
};

// Serves one accepted connection until it closes; it counts in `server->connections`
// for as long as it lives.
void StartSession(tcp::socket socket, std::shared_ptr<HttpServer::Impl> server);

}  // namespace glint::control
