// The access log line: fixed format, odd bytes rendered safely, length bounded.
#include "control/access_log.h"

#include <gtest/gtest.h>

namespace glint::control {
namespace {

TEST(AccessLog, FormatsOneLine) {
  AccessRecord r{"req-1", "u1", "p1", "GET", "/v2/images?limit=2", 200, 1234, 3.24};
  EXPECT_EQ(FormatAccessLine(r), "access req-1 user=u1 project=p1 \"GET /v2/images?limit=2\" 200 1234 3.2ms");
}

TEST(AccessLog, UnauthenticatedAndUnansweredShowDashes) {
  AccessRecord r{"req-2", "", "", "PUT", "/v2/images/x/file", 0, 0, 12.0};
  EXPECT_EQ(FormatAccessLine(r), "access req-2 user=- project=- \"PUT /v2/images/x/file\" - 0 12.0ms");
}

TEST(AccessLog, OddBytesCannotBreakTheLineOrForgeFields) {
  std::string target = std::string("/v2/a\"b c\\d\n\r\x01\xff") + std::string(1, '\0') + "e";
  AccessRecord r{"req-3", "u", "p", "G\"ET", target, 404, 0, 0};
  std::string line = FormatAccessLine(r);
  EXPECT_EQ(line, "access req-3 user=u project=p \"G\\x22ET /v2/a\\x22b\\x20c\\x5cd\\x0a\\x0d\\x01\\xff\\x00e\" "
                  "404 0 0.0ms");
}

TEST(AccessLog, LongTargetsAreCut) {
  std::string target = "/v2/images?name=" + std::string(10000, 'a');
  AccessRecord r{"req-4", "u", "p", "GET", target, 200, 1, 1};
  std::string line = FormatAccessLine(r);
  EXPECT_LT(line.size(), kMaxAccessTarget + 100);
  EXPECT_NE(line.find("aaa...\" 200 1 1.0ms"), std::string::npos);
}

}  // namespace
}  // namespace glint::control
