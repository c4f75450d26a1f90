// ASCII case folding and trimming (common/text.h), and a failed child's last stderr line.
#include "common/child_process.h"
#include "common/text.h"
#include "tests/support/test_support.h"

namespace glint {
namespace {

TEST(Text, LowerFoldsOnlyAsciiLetters) {
  EXPECT_EQ(AsciiLower("Admin_ROLE-9"), "admin_role-9");
  EXPECT_EQ(AsciiLower(""), "");
  // Bytes outside ASCII (UTF-8 "Ä") pass unchanged, whatever the locale.
  EXPECT_EQ(AsciiLower("\xC3\x84Z"), "\xC3\x84z");
}

TEST(Text, TrimDropsOnlyTheGivenBlanksAtBothEnds) {
  EXPECT_EQ(TrimView("  a b\t"), "a b");
  EXPECT_EQ(TrimView(" \t "), "");
  EXPECT_EQ(TrimView(""), "");
  EXPECT_EQ(TrimView("\r\nx\r\n"), "\r\nx\r\n");
  EXPECT_EQ(TrimView("\r\n x \r\n", " \t\r\n"), "x");
  EXPECT_EQ(Trimmed(" key = value ", " "), "key = value");
}

TEST(Text, LastErrLineIsTheLastNonBlankLineCut) {
  ChildOutcome run;
  run.err = "first\nqemu-img: Could not open 'x'\n\n  \n";
  EXPECT_EQ(run.LastErrLine(), "qemu-img: Could not open 'x'");
  run.err = "";
  EXPECT_EQ(run.LastErrLine(), "");
  run.err = std::string(1000, 'e') + "\n";
  EXPECT_EQ(run.LastErrLine(), std::string(300, 'e'));
}

}  // namespace
}  // namespace glint
