// HttpServer: the network side of glint-api (Boost.Beast; http_server.cc and
// http_session.cc are the only translation units that instantiate Beast/Asio templates,
// to keep builds fast).
//
// The listener (http_server.cc) accepts connections: beyond `max_connections` a new one
// gets an immediate 503 and is closed; when the process runs out of file descriptors it
// pauses accepting instead of spinning. Each Session (http_session.cc) reads a request
// head, then either reads a small body and hands the request to ApiService on the worker
// pool, or streams an upload body chunk by chunk into an UploadSession. Every read has a
// deadline by phase: `header_timeout` for a head, `client_socket_timeout` idle between
// requests, `body_progress_timeout` for a body that stops moving. Responses with image
// data are sent with sendfile(2) when the store gives a file descriptor. Network threads
// never block on the catalog or on store I/O: that work runs on the WorkerPool.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "control/api_service.h"
#include "control/config.h"
#include "control/worker_pool.h"

namespace glint::control {

class HttpServer {
 public:
  HttpServer(ApiService& api, const Config& config, WorkerPool& pool);
  ~HttpServer();
  Status Listen(const std::string& host, int port);
  int port() const;
  // Runs the network threads until Stop() has drained in-flight requests. Blocks.
  void Run(int threads);
  // Thread- and signal-safe to request (SIGTERM and SIGINT do): a graceful drain.
  // /healthcheck answers 503 at once and every answer closes its connection, while requests
  // are still accepted for `drain_delay` seconds (long enough for a load balancer's health
  // checks to take the node out); then it stops accepting, finishes the requests in flight
  // (at most `drain_timeout` seconds) and returns from Run().
  void Stop();

  struct Impl;  // defined in http_server.cc; public so its sessions can name it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace glint::control
