#include "notify/transport_url.h"

#include <cctype>

namespace glint::notify {

namespace {

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      return Status::InvalidArgument("transport_url: a bad percent escape");
    }
    out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
    i += 2;
  }
  return out;
}

Result<int> ParsePort(std::string_view s) {
  if (s.empty() || s.size() > 5) return Status::InvalidArgument("transport_url: a bad port");
  int port = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return Status::InvalidArgument("transport_url: a bad port");
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) return Status::InvalidArgument("transport_url: a bad port");
  return port;
}

// "user:pass@host:port", any part but the host optional.
Result<TransportHost> ParseHost(std::string_view s) {
  TransportHost h;
  size_t at = s.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view cred = s.substr(0, at);
    s = s.substr(at + 1);
    size_t colon = cred.find(':');
    auto user = PercentDecode(cred.substr(0, colon));
    if (!user.ok()) return user.status();
    h.user = *user;
    if (colon != std::string_view::npos) {
      auto pass = PercentDecode(cred.substr(colon + 1));
      if (!pass.ok()) return pass.status();
      h.password = *pass;
    }
  }
  std::string_view port;
  bool has_port = false;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("transport_url: an unclosed [ in a host");
    h.host = std::string(s.substr(1, close - 1));
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return Status::InvalidArgument("transport_url: a bad host");
      port = rest.substr(1);
      has_port = true;
    }
  } else {
    size_t colon = s.find(':');
    h.host = std::string(s.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = s.substr(colon + 1);
      has_port = true;
    }
  }
  if (h.host.empty()) h.host = "localhost";
  for (char c : h.host) {
    if (std::iscntrl(static_cast<unsigned char>(c)) || c == '/' || c == ' ') {
      return Status::InvalidArgument("transport_url: a bad host");
    }
  }
  if (has_port) {
    auto p = ParsePort(port);
    if (!p.ok()) return p.status();
    h.port = *p;
  }
  return h;
}

}  // namespace

Result<TransportUrl> ParseTransportUrl(std::string_view url) {
  TransportUrl out;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return Status::InvalidArgument("transport_url: expected rabbit://...");
  out.scheme = std::string(url.substr(0, sep));
  if (out.scheme != "rabbit" && out.scheme != "amqp") {
    return Status::InvalidArgument("transport_url: the scheme '" + out.scheme.substr(0, 20) +
                                   "' is not supported (use rabbit://)");
  }
  std::string_view rest = url.substr(sep + 3);
  size_t query = rest.find('?');
  if (query != std::string_view::npos) rest = rest.substr(0, query);  // driver options: ignored
  size_t slash = rest.find('/');
  std::string_view hosts = rest.substr(0, slash);
  if (slash != std::string_view::npos && slash + 1 < rest.size()) {
    auto vhost = PercentDecode(rest.substr(slash + 1));
    if (!vhost.ok()) return vhost.status();
    out.vhost = *vhost;
  }
  while (true) {
    size_t comma = hosts.find(',');
    auto h = ParseHost(hosts.substr(0, comma));
    if (!h.ok()) return h.status();
    out.hosts.push_back(*h);
    if (comma == std::string_view::npos) break;
    hosts = hosts.substr(comma + 1);
  }
  return out;
}

std::string TransportUrl::Redacted() const {
  std::string out = scheme + "://";
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (i) out += ',';
    out += hosts[i].user + ":***@" + (hosts[i].host.find(':') != std::string::npos ? "[" + hosts[i].host + "]"
                                                                                  : hosts[i].host);
    out += ":" + std::to_string(hosts[i].port);
  }
  return out + "/" + (vhost == "/" ? "" : vhost);
}

}  // namespace glint::notify
