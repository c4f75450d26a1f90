// One client connection: see http_server.h for what a session does.
#include "control/http_server_impl.h"

#include <spdlog/spdlog.h>
#include <poll.h>
#include <sys/sendfile.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <limits>
#include <optional>
#include <variant>

#include "common/ids.h"
#include "control/access_log.h"
#include "control/http_errors.h"
#include "control/job_boundary.h"

namespace glint::control {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr uint64_t kMaxSmallBody = 1 << 20;  // JSON bodies (create, patch)
constexpr size_t kStreamChunk = 1 << 20;     // non-fd downloads
constexpr size_t kSendfileStep = 16 << 20;
constexpr size_t kFirstRead = 4096;          // what a kept-alive connection's first read takes

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::Impl> server)
      : stream_(std::move(socket)), server_(std::move(server)), wait_timer_(stream_.get_executor()) {
    ++server_->connections;
  }
  ~Session() { --server_->connections; }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHead(); });
  }

 private:
  // Deadlines by phase: a client gets a short time for a request head, a long one to
  // idle between requests, and a body must keep moving; one long deadline for all
  // would let slow clients hold sockets.
  std::chrono::seconds HeaderTimeout() const { return std::chrono::seconds(server_->config.header_timeout); }
  // Also how long a response may wait for the client to read it.
  std::chrono::seconds IdleTimeout() const {
    return std::chrono::seconds(server_->config.client_socket_timeout);
  }
  std::chrono::seconds BodyProgressTimeout() const {
    return std::chrono::seconds(server_->config.body_progress_timeout);
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
    if (!served_one_ || buffer_.size() > 0) return ReadHeadBytes();
    // Kept alive, nothing pipelined: idle until the next request's first bytes arrive.
    stream_.expires_after(IdleTimeout());
    stream_.async_read_some(buffer_.prepare(kFirstRead), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->buffer_.commit(n);
      if (ec) return self->Close();
      self->ReadHeadBytes();
    });
  }

  // The head must be complete within header_timeout of the connection's start or of the
  // request's first bytes.
  void ReadHeadBytes() {
    stream_.expires_after(HeaderTimeout());
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
        BeginAccess();
        return Send(std::move(r));
      }
      return Close();
    }
    ++server_->active;
    counted_ = true;
    served_one_ = true;
    BeginAccess();
    const auto& h = head_->get();
    req_.method = std::string(h.method_string());
    req_.target = std::string(h.target());
    ParseTarget(req_.target, &req_.path, &req_.query);
    beast::error_code peer_ec;
    auto peer = stream_.socket().remote_endpoint(peer_ec);
    if (!peer_ec) req_.peer = peer.address().to_string();
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
      self->stream_.expires_after(self->BodyProgressTimeout());
      http::async_read(self->stream_, self->buffer_, *self->body_,
                       [self](beast::error_code ec, size_t) { self->OnBody(ec); });
    });
  }

  // Sends "100 Continue" first when the client waits for it.
  template <typename Fn>
  void WithContinue(Fn&& next) {
    if (!expect_continue_) return next();
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(IdleTimeout());  // the head's deadline may be spent by now
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
    if (early == want) return OnRawChunk({});
    ReadRawMore(want);
  }

  // One read at a time, so that every read that delivers bytes restarts the progress
  // deadline: a slow but steady client is fine, a stalled one is cut off.
  void ReadRawMore(size_t want) {
    stream_.expires_after(BodyProgressTimeout());
    stream_.async_read_some(net::buffer(chunk_->data.get() + chunk_->len, want - chunk_->len),
                            [self = shared_from_this(), want](beast::error_code ec, size_t n) {
                              self->chunk_->len += n;
                              if (!ec && self->chunk_->len < want) return self->ReadRawMore(want);
                              self->OnRawChunk(ec);
                            });
  }

  void OnRawChunk(beast::error_code ec) {
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
      if (ec == beast::error::timeout) {
        spdlog::warn("{} upload to {} stalled: no data for {} s (body_progress_timeout)", req_.request_id,
                     req_.path, BodyProgressTimeout().count());
      } else {
        spdlog::warn("{} upload to {} interrupted: {}", req_.request_id, req_.path, ec.message());
      }
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
    ReadChunkMore();
  }

  // As ReadRawMore: one parse step at a time, each restarting the progress deadline.
  void ReadChunkMore() {
    stream_.expires_after(BodyProgressTimeout());
    http::async_read_some(stream_, buffer_, *upload_body_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->OnChunk(ec);
    });
  }

  void OnChunk(beast::error_code ec) {
    if (ec == http::error::need_buffer) ec = {};  // the chunk is full
    if (!ec && !upload_body_->is_done() && upload_body_->get().body().size > 0) {
      return ReadChunkMore();
    }
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
    status_ = r.status;
    bool keep = keep_alive_ && !r.close_connection && !server_->draining;
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
      if (!ec) self->body_bytes_ = self->res_->body().size();
      self->Done(ec, keep);
    });
  }

  void SendStream(HttpResponse r, bool keep) {
    stream_res_.emplace(static_cast<http::status>(r.status), 11);
    for (auto& [k, v] : r.headers) stream_res_->insert(k, v);
    stream_res_->content_length(static_cast<uint64_t>(r.length));
    stream_res_->keep_alive(keep);
    reader_ = std::move(r.data);
    on_sent_ = std::move(r.on_sent);
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
        body_bytes_ += static_cast<uint64_t>(n);
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
                       [self, keep](beast::error_code ec, size_t n) {
                         self->body_bytes_ += n;
                         if (ec) return self->Close();
                         self->PostSendStep(keep, &Session::ReadStep);
                       });
    });
  }

  void BeginAccess() {
    started_ = std::chrono::steady_clock::now();
    status_ = 0;
    body_bytes_ = 0;
    access_pending_ = true;
  }

  // Writes the request's access log line, once: when its response is complete or the
  // connection is lost.
  void LogAccess() {
    if (!std::exchange(access_pending_, false)) return;
    if (auto sent = std::exchange(on_sent_, nullptr)) {
      RunContained(LogContext() + " (download finished)", [&] { sent(static_cast<int64_t>(body_bytes_)); });
    }
    if (!server_->config.access_log) return;
    std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - started_;
    spdlog::info("{}", FormatAccessLine({req_.request_id, req_.user_id, req_.project_id, req_.method, req_.target,
                                         status_, body_bytes_, took.count()}));
  }

  void Done(beast::error_code ec, bool keep) {
    LogAccess();
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
    LogAccess();
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
  bool served_one_ = false;  // a request head was read: later ones wait under the idle deadline
  std::shared_ptr<UploadSession> upload_;
  UploadChunk* chunk_ = nullptr;
  std::optional<http::response<http::string_body>> res_;
  std::optional<http::response<http::empty_body>> stream_res_;
  std::optional<http::response_serializer<http::empty_body>> stream_sr_;
  std::unique_ptr<store::Reader> reader_;
  std::function<void(int64_t)> on_sent_;  // the streamed response's end (image.send)
  int64_t offset_ = 0, remaining_ = 0;
  uint64_t body_remaining_ = 0;
  std::vector<char> stream_buf_;
  std::vector<char> discard_;
  bool body_unread_ = false;  // the request's body was not (fully) read
  // The access log line of the current request.
  bool access_pending_ = false;
  std::chrono::steady_clock::time_point started_;
  int status_ = 0;
  uint64_t body_bytes_ = 0;  // response body bytes handed to the socket
};

}  // namespace

void StartSession(tcp::socket socket, std::shared_ptr<HttpServer::Impl> server) {
  std::make_shared<Session>(std::move(socket), std::move(server))->Start();
}

}  // namespace glint::control
