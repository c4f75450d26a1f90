#include "control/http_server.h"

#include <spdlog/spdlog.h>
#include <poll.h>
#include <sys/sendfile.h>

#include <csignal>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <limits>
#include <optional>
#include <thread>
#include <variant>

#include "common/ids.h"
#include "control/http_errors.h"
#include "control/job_boundary.h"

namespace glint::control {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr uint64_t kMaxSmallBody = 1 << 20;  // JSON bodies (create, patch)
constexpr size_t kStreamChunk = 1 << 20;     // non-fd downloads
constexpr size_t kSendfileStep = 16 << 20;

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(ApiService& a, const Config& c, WorkerPool& p)
      : api(a), config(c), pool(p), acceptor(ioc), drain_timer(ioc) {}

  ApiService& api;
  const Config& config;
  WorkerPool& pool;
  net::io_context ioc;
  tcp::acceptor acceptor;
  net::steady_timer drain_timer;
  std::atomic<int> active{0};
  std::atomic<bool> stopping{false};

  void Accept();
  void Drain(std::chrono::steady_clock::time_point deadline);
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::Impl> server)
      : stream_(std::move(socket)), server_(std::move(server)), wait_timer_(stream_.get_executor()) {}

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHead(); });
  }

 private:
  std::chrono::seconds IdleTimeout() const {
    return std::chrono::seconds(server_->config.client_socket_timeout);
  }
  Post WorkerPost() { return server_->pool.Poster(); }
  // Runs `fn` on this connection's strand.
  template <typename Fn>
  void OnStrand(Fn&& fn) {
    net::post(stream_.get_executor(), std::forward<Fn>(fn));
  }

  void ReadHead() {
    if (server_->stopping) return Close();
    head_.emplace();
    head_->header_limit(64 * 1024);
    // Limits are decided per route once the head is read. (Beast 1.74 mis-compares an
    // unset limit, so "unlimited" is spelled as the largest value.)
    head_->body_limit(std::numeric_limits<std::uint64_t>::max());
    req_ = HttpRequest{};
    stream_.expires_after(IdleTimeout());
    http::async_read_header(stream_, buffer_, *head_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->OnHead(ec);
                            });
  }

  void OnHead(beast::error_code ec) {
    if (ec) {
      if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
          ec != net::error::connection_reset && ec != net::error::operation_aborted) {
        // Malformed request line or headers: say so before closing.
        HttpResponse r = ErrorResponse(Status::InvalidArgument("Malformed HTTP request: " + ec.message()));
        r.close_connection = true;
        req_.request_id = "req-" + NewUuid();
        server_->api.Decorate(req_, r);
        counted_ = false;
        return Send(std::move(r));
      }
      return Close();
    }
    ++server_->active;
    counted_ = true;
    const auto& h = head_->get();
    req_.method = std::string(h.method_string());
    req_.target = std::string(h.target());
    ParseTarget(req_.target, &req_.path, &req_.query);
    for (const auto& field : h) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req_.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    ApiService::AssignRequestId(req_);
    keep_alive_ = h.keep_alive();
    expect_continue_ = beast::iequals(h[http::field::expect], "100-continue");

    if (server_->api.IsUpload(req_)) return BeginUpload();
    if (head_->is_done()) return Dispatch();
    auto length = head_->content_length();
    if (length && *length > kMaxSmallBody) {
      HttpResponse r = ErrorResponse(Status::TooLarge("Request body of " + std::to_string(*length) +
                                              " bytes is too large (limit " +
                                              std::to_string(kMaxSmallBody) + ")"));
      r.close_connection = true;
      server_->api.Decorate(req_, r);
      return Send(std::move(r));
    }
    body_.emplace(std::move(*head_));
    body_->body_limit(kMaxSmallBody);
    WithContinue([self = shared_from_this()] {
      self->stream_.expires_after(self->IdleTimeout());
      http::async_read(self->stream_, self->buffer_, *self->body_,
                       [self](beast::error_code ec, size_t) { self->OnBody(ec); });
    });
  }

  // Sends "100 Continue" first when the client waits for it.
  template <typename Fn>
  void WithContinue(Fn&& next) {
    if (!expect_continue_) return next();
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue),
                     [self = shared_from_this(), next = std::forward<Fn>(next)](
                         beast::error_code ec, size_t) mutable {
                       if (ec) return self->Close();
                       next();
                     });
  }

  void OnBody(beast::error_code ec) {
    if (ec) {
      if (ec == http::error::body_limit) {
        HttpResponse r = ErrorResponse(Status::TooLarge("Request body is too large"));
        r.close_connection = true;
        server_->api.Decorate(req_, r);
        return Send(std::move(r));
      }
      return Close();
    }
    req_.body = std::move(body_->get().body());
    Dispatch();
  }

  // What a log line about this request starts with.
  std::string LogContext() const { return req_.request_id + " " + req_.method + " " + req_.path; }

  // The answer when a pool job handling this request threw (already logged).
  HttpResponse InternalError() const {
    HttpResponse r = ErrorResponse(Status::Internal("Internal error while handling the request " + req_.request_id));
    server_->api.Decorate(req_, r);
    return r;
  }

  void Dispatch() {
    WorkerPost()([self = shared_from_this()] {
      HttpResponse r;
      if (!RunContained(self->LogContext(), [&] { r = self->server_->api.Handle(self->req_); })) {
        r = self->InternalError();
      }
      self->OnStrand([self, r = std::make_shared<HttpResponse>(std::move(r))]() mutable {
        self->Send(std::move(*r));
      });
    });
  }

  // ---- uploads ----
  void BeginUpload() {
    std::optional<uint64_t> length;
    if (auto l = head_->content_length()) length = *l;
    WorkerPost()([self = shared_from_this(), length] {
      std::variant<std::shared_ptr<UploadSession>, HttpResponse> begun;
      if (!RunContained(self->LogContext(), [&] { begun = self->server_->api.BeginUpload(self->req_, length); })) {
        begun = self->InternalError();
      }
      self->OnStrand([self, begun = std::move(begun)]() mutable {
        if (auto* r = std::get_if<HttpResponse>(&begun)) {
          // The body was not read: the connection cannot be reused.
          r->close_connection = !self->head_->is_done();
          self->body_unread_ = r->close_connection;
          return self->Send(std::move(*r));
        }
        self->upload_ = std::get<std::shared_ptr<UploadSession>>(begun);
        self->upload_->set_request_id(self->req_.request_id);
        if (self->head_->content_length() && !self->head_->chunked()) {
          // Known length: read the socket straight into the chunks (no parser, no copy).
          self->body_remaining_ = *self->head_->content_length();
          self->WithContinue([self] { self->ReadRawChunk(); });
          return;
        }
        self->upload_body_.emplace(std::move(*self->head_));
        self->upload_body_->body_limit(std::numeric_limits<std::uint64_t>::max());
        self->buffer_.reserve(kStreamChunk);  // Beast reads up to 64 KiB per call, not 512 B
        self->WithContinue([self] { self->ReadChunk(); });
      });
    });
  }

  void ReadRawChunk() {
    if (body_remaining_ == 0) return FinishUpload(Status::Ok());
    chunk_ = upload_->TakeBuffer();
    if (!chunk_) {
      upload_->WhenBufferFree([self = shared_from_this()] {
        self->OnStrand([self] { self->ReadRawChunk(); });
      });
      return;
    }
    size_t want = static_cast<size_t>(std::min<uint64_t>(chunk_->capacity, body_remaining_));
    // Body bytes that arrived with the head come first.
    size_t early = std::min(want, buffer_.size());
    net::buffer_copy(net::buffer(chunk_->data.get(), early), buffer_.data());
    buffer_.consume(early);
    chunk_->len = early;
    if (early == want) return OnRawChunk({}, 0);
    stream_.expires_after(IdleTimeout());
    net::async_read(stream_, net::buffer(chunk_->data.get() + early, want - early),
                    [self = shared_from_this()](beast::error_code ec, size_t n) {
                      self->OnRawChunk(ec, n);
                    });
  }

  void OnRawChunk(beast::error_code ec, size_t n) {
    chunk_->len += n;
    body_remaining_ -= chunk_->len;
    if (HandOver(ec)) ReadRawChunk();
  }

  // Passes the filled chunk on (or gives it back when empty). False when the upload ended:
  // the read failed (client gone) or the pipeline refused the data (cap, quota, store).
  bool HandOver(beast::error_code ec) {
    UploadChunk* chunk = std::exchange(chunk_, nullptr);
    if (ec) {
      upload_->Release(chunk);
      keep_alive_ = false;
      spdlog::warn("{} upload to {} interrupted: {}", req_.request_id, req_.path, ec.message());
      FinishUpload(Status::InvalidArgument("upload interrupted: " + ec.message()), true);
      return false;
    }
    if (chunk->len == 0) {
      upload_->Release(chunk);
      return true;
    }
    Status s = upload_->Submit(chunk);
    if (!s.ok()) {
      keep_alive_ = false;
      FinishUpload(s);
      return false;
    }
    return true;
  }

  void ReadChunk() {
    if (upload_body_->is_done()) return FinishUpload(Status::Ok());
    chunk_ = upload_->TakeBuffer();
    if (!chunk_) {
      // Every chunk is being hashed or written: wait (backpressure on the client).
      upload_->WhenBufferFree([self = shared_from_this()] {
        self->OnStrand([self] { self->ReadChunk(); });
      });
      return;
    }
    auto& body = upload_body_->get().body();
    body.data = chunk_->data.get();
    body.size = chunk_->capacity;
    stream_.expires_after(IdleTimeout());
    http::async_read(stream_, buffer_, *upload_body_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->OnChunk(ec);
                     });
  }

  void OnChunk(beast::error_code ec) {
    if (ec == http::error::need_buffer) ec = {};
    chunk_->len = chunk_->capacity - upload_body_->get().body().size;
    if (HandOver(ec)) ReadChunk();
  }

  // `client_gone`: the read failed, so there is nobody to linger for.
  void FinishUpload(Status network, bool client_gone = false) {
    // Ended before the whole body arrived with the client still sending: linger on close.
    bool body_left = body_remaining_ > 0 || (upload_body_ && !upload_body_->is_done());
    body_unread_ = body_left && !client_gone;
    upload_->Finish(std::move(network), [self = shared_from_this()](HttpResponse r) {
      self->OnStrand([self, r = std::make_shared<HttpResponse>(std::move(r))]() mutable {
        self->upload_.reset();
        self->server_->api.Decorate(self->req_, *r);
        if (!self->keep_alive_) r->close_connection = true;
        self->Send(std::move(*r));
      });
    });
  }

  // ---- responses ----
  void Send(HttpResponse r) {
    bool keep = keep_alive_ && !r.close_connection && !server_->stopping;
    if (r.data) return SendStream(std::move(r), keep);
    res_.emplace(static_cast<http::status>(r.status), 11);
    for (auto& [k, v] : r.headers) res_->insert(k, v);
    res_->body() = std::move(r.body);
    res_->keep_alive(keep);
    if (req_.method == "HEAD") {
      res_->content_length(res_->body().size());
      res_->body().clear();
    } else if (r.status != 204 && r.status != 304 && r.status >= 200) {
      res_->prepare_payload();
    }
    stream_.expires_after(IdleTimeout());
    http::async_write(stream_, *res_, [self = shared_from_this(), keep](beast::error_code ec, size_t) {
      self->Done(ec, keep);
    });
  }

  void SendStream(HttpResponse r, bool keep) {
    stream_res_.emplace(static_cast<http::status>(r.status), 11);
    for (auto& [k, v] : r.headers) stream_res_->insert(k, v);
    stream_res_->content_length(static_cast<uint64_t>(r.length));
    stream_res_->keep_alive(keep);
    reader_ = std::move(r.data);
    offset_ = r.offset;
    remaining_ = r.length;
    stream_sr_.emplace(*stream_res_);
    stream_.expires_after(IdleTimeout());
    http::async_write_header(stream_, *stream_sr_,
                             [self = shared_from_this(), keep](beast::error_code ec, size_t) {
                               if (ec || self->req_.method == "HEAD") return self->Done(ec, keep);
                               if (self->reader_->fd() >= 0) {
                                 self->stream_.socket().native_non_blocking(true);
                                 self->PostSendStep(keep, &Session::SendfileStep);
                               } else {
                                 self->PostSendStep(keep, &Session::ReadStep);
                               }
                             });
  }

  // Runs the next step of a download on the worker pool. The head is already sent, so a
  // step that throws can only end the connection (the client sees a short body).
  void PostSendStep(bool keep, void (Session::*step)(bool)) {
    WorkerPost()([self = shared_from_this(), keep, step] {
      if (!RunContained(self->LogContext() + " (sending data)", [&] { (self.get()->*step)(keep); })) {
        self->OnStrand([self] { self->Close(); });
      }
    });
  }

  // Runs on the worker pool: pushes file data into the socket until it would block.
  void SendfileStep(bool keep) {
    int sock = stream_.socket().native_handle();
    while (remaining_ > 0) {
      off_t off = offset_;
      ssize_t n = ::sendfile(sock, reader_->fd(), &off,
                             static_cast<size_t>(std::min<int64_t>(remaining_, kSendfileStep)));
      if (n > 0) {
        offset_ += n;
        remaining_ -= n;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        // A fast reader drains the socket within moments: wait here briefly rather than
        // bouncing through the event loop; a slow one releases this worker below.
        struct pollfd pfd = {sock, POLLOUT, 0};
        if (::poll(&pfd, 1, 20) == 1 && (pfd.revents & POLLOUT)) continue;
        OnStrand([self = shared_from_this(), keep] {
          self->wait_timer_.expires_after(self->IdleTimeout());
          self->wait_timer_.async_wait([self](beast::error_code ec) {
            if (!ec) self->stream_.socket().cancel();
          });
          self->stream_.socket().async_wait(tcp::socket::wait_write,
                                            [self, keep](beast::error_code ec) {
                                              self->wait_timer_.cancel();
                                              if (ec) return self->Close();
                                              self->PostSendStep(keep, &Session::SendfileStep);
                                            });
        });
        return;
      }
      // n == 0: the file is shorter than the catalog says; errors: the peer left.
      if (n == 0) spdlog::error("{} image data shorter than its recorded size", req_.request_id);
      return OnStrand([self = shared_from_this()] { self->Close(); });
    }
    OnStrand([self = shared_from_this(), keep] { self->Done({}, keep); });
  }

  // Runs on the worker pool: reads a chunk from a store without a file descriptor.
  void ReadStep(bool keep) {
    if (remaining_ == 0) return OnStrand([self = shared_from_this(), keep] { self->Done({}, keep); });
    if (stream_buf_.empty()) stream_buf_.resize(kStreamChunk);
    size_t want = static_cast<size_t>(std::min<int64_t>(remaining_, kStreamChunk));
    auto n = reader_->ReadAt(offset_, stream_buf_.data(), want);
    if (!n.ok() || *n == 0) {
      spdlog::error("{} reading image data failed: {}", req_.request_id,
                    n.ok() ? "short data" : n.status().ToString());
      return OnStrand([self = shared_from_this()] { self->Close(); });
    }
    offset_ += static_cast<int64_t>(*n);
    remaining_ -= static_cast<int64_t>(*n);
    OnStrand([self = shared_from_this(), keep, len = *n] {
      self->stream_.expires_after(self->IdleTimeout());
      net::async_write(self->stream_, net::buffer(self->stream_buf_.data(), len),
                       [self, keep](beast::error_code ec, size_t) {
                         if (ec) return self->Close();
                         self->PostSendStep(keep, &Session::ReadStep);
                       });
    });
  }

  void Done(beast::error_code ec, bool keep) {
    reader_.reset();
    if (counted_) {
      --server_->active;
      counted_ = false;
    }
    if (!ec && !keep && body_unread_) return LingeringClose();
    if (ec || !keep) return Close();
    ReadHead();
  }

  // After an early answer to a request whose body was not read (an upload refused or cut
  // off), closing at once would make the kernel reset the connection and the client could
  // lose the answer. Stop sending, discard what still arrives for a few seconds, then close.
  void LingeringClose() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (discard_.empty()) discard_.resize(64 * 1024);
    stream_.expires_after(std::chrono::seconds(5));
    Discard();
  }
  void Discard() {
    stream_.async_read_some(net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Close();  // peer closed, or the 5 s are over
      self->Discard();
    });
  }

  void Close() {
    if (counted_) {
      --server_->active;
      counted_ = false;
    }
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    if (upload_) {
      // Connection gone mid-upload without reaching FinishUpload.
      upload_->Finish(Status::InvalidArgument("connection closed"), [](HttpResponse) {});
      upload_.reset();
    }
  }

  beast::tcp_stream stream_;
  std::shared_ptr<HttpServer::Impl> server_;
  net::steady_timer wait_timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> head_;
  std::optional<http::request_parser<http::string_body>> body_;
  std::optional<http::request_parser<http::buffer_body>> upload_body_;
  HttpRequest req_;
  bool keep_alive_ = true;
  bool expect_continue_ = false;
  bool counted_ = false;
  std::shared_ptr<UploadSession> upload_;
  UploadChunk* chunk_ = nullptr;
  std::optional<http::response<http::string_body>> res_;
  std::optional<http::response<http::empty_body>> stream_res_;
  std::optional<http::response_serializer<http::empty_body>> stream_sr_;
  std::unique_ptr<store::Reader> reader_;
  int64_t offset_ = 0, remaining_ = 0;
  uint64_t body_remaining_ = 0;
  std::vector<char> stream_buf_;
  std::vector<char> discard_;
  bool body_unread_ = false;  // the request's body was not (fully) read
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this()](beast::error_code ec,
                                                                          tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !self->acceptor.is_open()) return;
      spdlog::warn("accept failed: {}", ec.message());
    } else {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), self)->Start();
    }
    self->Accept();
  });
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

void HttpServer::Stop(int grace_seconds) {
  net::post(impl_->ioc, [impl = impl_, grace_seconds] {
    if (impl->stopping.exchange(true)) return;
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    impl->Drain(std::chrono::steady_clock::now() + std::chrono::seconds(grace_seconds));
  });
}

}  // namespace glint::control
