// The outbound filter's URL parser (web-download URIs, http locations, redirect targets).
// Whatever the text: a URL that parses is http(s) with a host and a port in range, its
// target starts with '/', it reads the same when written again from its parts, an IP host
// is its own canonical literal, and a non-global address is never chosen by default.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "client/outbound_fetch.h"
#include "client/outbound_filter.h"
#include "fuzz/fuzz_support.h"

using glint::client::ParseOutboundUrl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  std::string location = in.ConsumeRandomLengthString(512);
  std::string url = in.ConsumeRemainingBytesAsString();
  auto u = ParseOutboundUrl(url);
  if (!u.ok()) return 0;
  FUZZ_CHECK(u->scheme == "http" || u->scheme == "https");
  FUZZ_CHECK(!u->host.empty());
  FUZZ_CHECK(u->port >= 1 && u->port <= 65535);
  FUZZ_CHECK(!u->target.empty() && u->target[0] == '/');
  auto again = ParseOutboundUrl(u->Origin() + u->target);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->host == u->host && again->port == u->port && again->target == u->target);
  FUZZ_CHECK(again->host_is_ip == u->host_is_ip);
  if (u->host_is_ip) {
    auto literal = glint::client::ParseIpLiteral(u->host);
    FUZZ_CHECK(literal && *literal == u->ip);
    auto chosen = glint::client::ChooseAddress(*u, {u->ip}, {});
    FUZZ_CHECK(chosen.ok() == glint::client::IsGlobalAddress(u->ip));
  }
  (void)glint::client::CheckUrl(*u, {});
  std::string next = glint::client::ResolveReference(*u, location);
  (void)ParseOutboundUrl(next);
  return 0;
}
