// oslo.messaging's transport URL, as Glance's configuration gives it:
//   rabbit://USER:PASS@HOST:PORT[,USER:PASS@HOST2:PORT2]/VHOST
// Several hosts mean "try them in turn". User names and passwords are percent-decoded;
// IPv6 hosts are bracketed ([::1]:5672). An empty virtual host is RabbitMQ's default "/".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace glint::notify {

struct TransportHost {
  std::string host = "localhost";
  int port = 5672;
  std::string user = "guest";
  std::string password = "guest";
};

struct TransportUrl {
  std::string scheme;  // "rabbit"
  std::vector<TransportHost> hosts;
  std::string vhost = "/";

  // For log lines: passwords replaced by "***".
  std::string Redacted() const;
};

Result<TransportUrl> ParseTransportUrl(std::string_view url);

}  // namespace glint::notify
