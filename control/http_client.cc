#include "control/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <limits>
#include <optional>
#include <vector>

namespace glint::control {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class BeastClient final : public HttpClient {
 public:
  BeastClient(std::string host, std::string port) : host_(std::move(host)), port_(std::move(port)) {}

  Result<ClientResponse> Request(const std::string& method, const std::string& target,
                                 const HeaderList& headers, const std::string& body) override {
    return WithRetry([&]() -> Result<ClientResponse> {
      GLINT_RETURN_IF_ERROR(Connect());
      http::request<http::string_body> req(http::string_to_verb(method), target, 11);
      Prepare(req, headers);
      req.body() = body;
      if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") req.prepare_payload();
      beast::error_code ec;
      http::write(*socket_, req, ec);
      if (ec) return Fail("send request", ec);
      return ReadSmall();
    });
  }

  Result<ClientResponse> Upload(const std::string& method, const std::string& target,
                                const HeaderList& headers, uint64_t length,
                                const std::function<Result<size_t>(char*, size_t)>& source) override {
    GLINT_RETURN_IF_ERROR(Connect());
    http::request<http::empty_body> req(http::string_to_verb(method), target, 11);
    Prepare(req, headers);
    req.content_length(length);
    http::request_serializer<http::empty_body> sr(req);
    beast::error_code ec;
    http::write_header(*socket_, sr, ec);
    if (ec) return Fail("send request", ec);
    std::vector<char> buf(1 << 20);
    uint64_t sent = 0;
    while (sent < length) {
      auto n = source(buf.data(), static_cast<size_t>(std::min<uint64_t>(buf.size(), length - sent)));
      if (!n.ok()) {
        Reset();
        return n.status();
      }
      if (*n == 0) {
        Reset();
        return Status::IOError("input ended after " + std::to_string(sent) + " of " +
                               std::to_string(length) + " bytes");
      }
      net::write(*socket_, net::buffer(buf.data(), *n), ec);
      if (ec) {
        // The server may have answered early (e.g. 413) and closed: read that answer.
        auto early = ReadSmall();
        if (early.ok()) return early;
        return Fail("send data", ec);
      }
      sent += *n;
    }
    return ReadSmall();
  }

  Result<ClientResponse> Download(const std::string& target, const HeaderList& headers,
                                  const std::function<Status(const char*, size_t)>& sink) override {
    return WithRetry([&]() -> Result<ClientResponse> {
      GLINT_RETURN_IF_ERROR(Connect());
      http::request<http::empty_body> req(http::verb::get, target, 11);
      Prepare(req, headers);
      beast::error_code ec;
      http::write(*socket_, req, ec);
      if (ec) return Fail("send request", ec);
      http::response_parser<http::buffer_body> parser;
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      http::read_header(*socket_, buffer_, parser, ec);
      if (ec) return Fail("read response", ec);
      ClientResponse out;
      out.status = static_cast<int>(parser.get().result_int());
      for (const auto& f : parser.get()) out.headers.emplace_back(Lower(std::string(f.name_string())), std::string(f.value()));
      bool to_sink = out.status >= 200 && out.status < 300;
      std::vector<char> buf(1 << 20);
      while (!parser.is_done()) {
        parser.get().body().data = buf.data();
        parser.get().body().size = buf.size();
        http::read(*socket_, buffer_, parser, ec);
        if (ec == http::error::need_buffer) ec = {};
        if (ec) return Fail("read body", ec);
        size_t n = buf.size() - parser.get().body().size;
        if (to_sink) {
          Status s = sink(buf.data(), n);
          if (!s.ok()) {
            Reset();
            return s;
          }
        } else {
          out.body.append(buf.data(), n);
        }
      }
      if (!parser.get().keep_alive()) Reset();
      return out;
    });
  }

 private:
  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  template <typename Req>
  void Prepare(Req& req, const HeaderList& headers) {
    req.set(http::field::host, host_ + ":" + port_);
    req.set(http::field::user_agent, "glint");
    for (const auto& [k, v] : headers) req.set(k, v);
  }

  // A kept-alive connection the server closed meanwhile fails on first use: retry once.
  template <typename Fn>
  Result<ClientResponse> WithRetry(Fn&& fn) {
    bool reused = socket_ != nullptr;
    auto r = fn();
    if (!r.ok() && reused && r.status().code() == Status::Code::kUnavailable) return fn();
    return r;
  }

  Status Connect() {
    if (socket_) return Status::Ok();
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(host_, port_, ec);
    if (ec) return Status::Unavailable("cannot resolve " + host_ + ": " + ec.message());
    socket_ = std::make_unique<tcp::socket>(ioc_);
    net::connect(*socket_, results, ec);
    if (ec) {
      socket_.reset();
      return Status::Unavailable("cannot connect to " + host_ + ":" + port_ + ": " + ec.message());
    }
    socket_->set_option(tcp::no_delay(true), ec);
    buffer_.clear();
    return Status::Ok();
  }

  void Reset() {
    socket_.reset();
    buffer_.clear();
  }

  Status Fail(const char* what, const beast::error_code& ec) {
    Reset();
    return Status::Unavailable(std::string(what) + " to " + host_ + ":" + port_ + ": " + ec.message());
  }

  Result<ClientResponse> ReadSmall() {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    beast::error_code ec;
    http::read(*socket_, buffer_, parser, ec);
    if (ec) return Fail("read response", ec);
    ClientResponse out;
    out.status = static_cast<int>(parser.get().result_int());
    for (const auto& f : parser.get()) out.headers.emplace_back(Lower(std::string(f.name_string())), std::string(f.value()));
    out.body = std::move(parser.get().body());
    if (!parser.get().keep_alive()) Reset();
    return out;
  }

  std::string host_, port_;
  net::io_context ioc_;
  std::unique_ptr<tcp::socket> socket_;
  beast::flat_buffer buffer_;
};

}  // namespace

Result<std::unique_ptr<HttpClient>> HttpClient::Create(const std::string& base_url) {
  std::string rest;
  if (base_url.rfind("http://", 0) == 0) {
    rest = base_url.substr(7);
  } else {
    return Status::InvalidArgument("unsupported image service URL '" + base_url +
                                   "': use http://HOST:PORT");
  }
  rest = rest.substr(0, rest.find('/'));
  std::string host = rest, port = "80";
  size_t colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']') == std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return Status::InvalidArgument("no host in URL '" + base_url + "'");
  return std::unique_ptr<HttpClient>(new BeastClient(host, port));
}

}  // namespace glint::control
