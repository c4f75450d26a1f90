// ClientAddress: X-Forwarded-For is believed only from a configured trusted proxy, and
// only up to the first address no trusted proxy wrote.
#include <gtest/gtest.h>

#include "control/client_address.h"

namespace glint::control {
namespace {

HttpRequest From(std::string peer, std::string forwarded = "") {
  HttpRequest r;
  r.peer = std::move(peer);
  if (!forwarded.empty()) r.headers.emplace_back("x-forwarded-for", std::move(forwarded));
  return r;
}

TEST(ClientAddress, ThePeerUnlessItIsATrustedProxy) {
  EXPECT_EQ(ClientAddress(From("203.0.113.5", "10.9.9.9"), {}), "203.0.113.5");
  EXPECT_EQ(ClientAddress(From("203.0.113.5", "10.9.9.9"), {"10.0.0.2"}), "203.0.113.5");
  EXPECT_EQ(ClientAddress(From("10.0.0.2", "198.51.100.1"), {"10.0.0.2"}), "198.51.100.1");
}

TEST(ClientAddress, ForgedEntriesLeftOfTheProxysAreIgnored) {
  // The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the address it saw.
  EXPECT_EQ(ClientAddress(From("10.0.0.2", "1.2.3.4, 198.51.100.1"), {"10.0.0.2"}), "198.51.100.1");
  // Two trusted proxies in a row.
  EXPECT_EQ(ClientAddress(From("10.0.0.2", "1.2.3.4,198.51.100.1, 10.0.0.3"), {"10.0.0.2", "10.0.0.3"}),
            "198.51.100.1");
}

TEST(ClientAddress, NoUsableHeaderCountsTheProxy) {
  EXPECT_EQ(ClientAddress(From("10.0.0.2"), {"10.0.0.2"}), "10.0.0.2");
  EXPECT_EQ(ClientAddress(From("10.0.0.2", " , "), {"10.0.0.2"}), "10.0.0.2");
  EXPECT_EQ(ClientAddress(From("10.0.0.2", std::string(5000, 'a')), {"10.0.0.2"}), "10.0.0.2");
}

}  // namespace
}  // namespace glint::control
