// OutboundFilter: which URLs glint-api may fetch on a user's behalf (web-download imports
// and the read-only http store). Glance's `[import_filtering_opts]` (schemes, hosts and
// ports, each an allow list that wins over its deny list) plus what Glance lacks: no
// loopback, link-local, private, CGNAT, multicast, unspecified or otherwise non-global
// address (nor an IPv4-mapped/compatible IPv6 spelling of one) unless allowed by
// `allowed_hosts` or `allowed_networks`; IPv4 written in decimal, octal or hex (what
// inet_aton would accept) is refused whatever it means.
//
// Pure functions: ParseOutboundUrl and CheckUrl look only at the text, ChooseAddress only
// at addresses a caller resolved, so the whole policy is unit-testable without DNS or
// sockets. Thread-safe (no state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace glint::client {

struct OutboundFilterOptions {
  std::vector<std::string> allowed_schemes = {"http", "https"};
  std::vector<std::string> disallowed_schemes;
  std::vector<std::string> allowed_hosts;
  std::vector<std::string> disallowed_hosts;
  std::vector<int> allowed_ports = {80, 443};
  std::vector<int> disallowed_ports;
  // CIDRs ("10.0.0.0/8", "fd00::/8") whose non-global addresses may nevertheless be
  // fetched from (Glint's option; Glance has no such refusal to lift).
  std::vector<std::string> allowed_networks;
};

// An IP address: 4 or 16 bytes in network order.
struct IpAddress {
  bool v6 = false;
  uint8_t bytes[16] = {};
  std::string ToString() const;  // 127.0.0.1, ::1 (no brackets)
  bool operator==(const IpAddress& o) const;
};

// Parses a literal: dotted-quad IPv4 in its canonical spelling, or IPv6 (no brackets).
std::optional<IpAddress> ParseIpLiteral(const std::string& text);

struct OutboundUrl {
  std::string scheme;     // lowercased
  std::string host;       // lowercased, without brackets or a trailing dot
  bool host_is_ip = false;
  IpAddress ip;           // when host_is_ip
  int port = 0;           // the explicit port or the scheme's default
  bool explicit_port = false;
  std::string target;     // path and query ("/" when none); the fragment is dropped
  std::string Origin() const;  // scheme://host[:port], brackets for IPv6
};

// Splits an absolute http(s) URL. Refuses (InvalidArgument) what could be read two ways:
// control characters, spaces, backslashes, several '@', an empty or malformed host, a
// numeric host in a non-canonical IPv4 spelling (2130706433, 0177.0.0.1, 0x7f.1: the
// message says which address it means), IPv6 zone ids, ports outside 1..65535.
// Bounded: URLs over 8 KiB are refused.
Result<OutboundUrl> ParseOutboundUrl(const std::string& url);

// Glance's scheme, host and port filters (validate_import_uri's order and rules). Glint
// checks the effective port (80/443 when none is written), Glance only a written one.
Status CheckUrl(const OutboundUrl& url, const OutboundFilterOptions& options);

// Whether `address` is globally routable (not loopback, private, link-local, ...): the
// IANA special-purpose registries' "not global" entries.
bool IsGlobalAddress(const IpAddress& address);

// Of `resolved` (the host's addresses, or its literal), the first one the filter allows;
// PermissionDenied naming the refused addresses when there is none.
Result<IpAddress> ChooseAddress(const OutboundUrl& url, const std::vector<IpAddress>& resolved,
                                const OutboundFilterOptions& options);

}  // namespace glint::client
