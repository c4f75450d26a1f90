// Timestamps: ISO 8601 parsing and Glance's rendering.
#include <cstdint>
#include <limits>

#include "common/ids.h"
#include "tests/support/test_support.h"

namespace glint {
namespace {

TEST(Ids, FormatRoundsTowardsThePast) {
  EXPECT_EQ(FormatIsoSeconds(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIsoSeconds(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatIsoSeconds(-1000000), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatIsoSeconds(-1000001), "1969-12-31T23:59:58Z");
  EXPECT_EQ(FormatIsoSeconds(1767323045999999), "2026-01-02T03:04:05Z");
}

// Found by fuzz/iso_date_fuzz.cc: the floor division negated its argument, which
// overflows for the smallest timestamp (undefined behaviour; a wrong date in practice).
TEST(Ids, FormatsExtremeTimestamps) {
  EXPECT_EQ(FormatIsoSeconds(std::numeric_limits<int64_t>::min()), "-290308-12-21T19:59:05Z");
  EXPECT_EQ(FormatIsoSeconds(std::numeric_limits<int64_t>::max()), "294247-01-10T04:00:54Z");
}

TEST(Ids, ParseIsoRoundTrips) {
  auto t = ParseIso("2026-01-02T03:04:05.123456+01:00");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatIsoSeconds(*t), "2026-01-02T02:04:05Z");
  EXPECT_EQ(ParseIso(FormatIsoSeconds(*t)), *t - 123456);
}

}  // namespace
}  // namespace glint
