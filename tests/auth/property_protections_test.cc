// Property protections: Glance's rule file semantics in both formats, and the files Glance
// refuses to start with.
#include "auth/property_protections.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>

#include "common/clock.h"

namespace glint::auth {
namespace {

using Format = PropertyProtections::Format;

RequestContext WithRoles(std::vector<std::string> roles) {
  RequestContext ctx;
  ctx.project_id = "p";
  ctx.roles = std::move(roles);
  return ctx;
}

// Debian's sample (property-protections-roles.conf), plus a few sections of our own.
const char* kRoles = R"(
# comment
[^x_owner_.*]
create = admin,member
read = admin,member
update = admin
delete = !

[^x_public_.*]
create = admin
read = @
update = admin
delete = admin

[^x_.*]
create = admin,member,_member_
read = admin,member,_member_
update = admin,member,_member_
delete = admin,member,_member_

[.*]
create = admin
read = admin
update = admin
delete = admin
)";

TEST(PropertyProtections, FirstMatchingSectionInFileOrderDecides) {
  auto p = PropertyProtections::Parse(kRoles, Format::kRoles, nullptr);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto member = WithRoles({"Member"});  // role names compare case-insensitively
  auto admin = WithRoles({"admin"});
  auto reader = WithRoles({"reader"});
  EXPECT_TRUE((*p)->Allowed("x_owner_a", PropertyOp::kCreate, member));
  EXPECT_FALSE((*p)->Allowed("x_owner_a", PropertyOp::kUpdate, member));
  EXPECT_FALSE((*p)->Allowed("x_owner_a", PropertyOp::kDelete, admin));  // '!': no one
  EXPECT_TRUE((*p)->Allowed("x_public_a", PropertyOp::kRead, reader));   // '@': anyone
  EXPECT_FALSE((*p)->Allowed("x_public_a", PropertyOp::kCreate, member));
  EXPECT_TRUE((*p)->Allowed("x_other", PropertyOp::kDelete, member));
  EXPECT_FALSE((*p)->Allowed("other", PropertyOp::kRead, member));
  EXPECT_TRUE((*p)->Allowed("other", PropertyOp::kRead, admin));
  // search, not match: the expression may be found anywhere in the name.
  EXPECT_TRUE((*p)->Allowed("a_x_b", PropertyOp::kRead, admin));
}

TEST(PropertyProtections, ServiceRolesCount) {
  auto p = PropertyProtections::Parse(kRoles, Format::kRoles, nullptr);
  ASSERT_TRUE(p.ok());
  RequestContext ctx = WithRoles({"reader"});
  EXPECT_FALSE((*p)->Allowed("x_a", PropertyOp::kRead, ctx));
  ctx.service_roles = {"member"};
  EXPECT_TRUE((*p)->Allowed("x_a", PropertyOp::kRead, ctx));
}

TEST(PropertyProtections, NoMatchingSectionMeansNoOne) {
  auto p = PropertyProtections::Parse("[^only_this$]\ncreate=@\nread=@\nupdate=@\ndelete=@\n", Format::kRoles,
                                      nullptr);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE((*p)->Allowed("only_this", PropertyOp::kRead, WithRoles({})));
  EXPECT_FALSE((*p)->Allowed("anything_else", PropertyOp::kRead, WithRoles({"admin"})));
}

TEST(PropertyProtections, EmptyEntryAllowsNoOneAndDefaultFillsIn) {
  auto p = PropertyProtections::Parse("[DEFAULT]\nread = @\n[^a]\nCREATE =\nupdate=admin\ndelete=admin\n",
                                      Format::kRoles, nullptr);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE((*p)->Allowed("a1", PropertyOp::kCreate, WithRoles({"admin"})));
  EXPECT_TRUE((*p)->Allowed("a1", PropertyOp::kRead, WithRoles({})));
}

TEST(PropertyProtections, RefusesWhatGlanceRefuses) {
  const char* bad[] = {
      "[^a]\ncreate=@\nread=@\nupdate=@\n",                     // no delete entry
      "[(unclosed]\ncreate=@\nread=@\nupdate=@\ndelete=@\n",    // not a regular expression
      "[^a]\ncreate=@,!\nread=@\nupdate=@\ndelete=@\n",         // '@' with '!'
      "[^a]\ncreate=@\n[^a]\ncreate=@\n",                       // duplicate section
      "create=@\n",                                              // outside any section
      "create=\n[^a]\ncreate=@\nread=@\nupdate=@\ndelete=@\n",      // empty, outside any section
      "0=\n[^a]\ncreate=@\nread=@\nupdate=@\ndelete=@\n",
      "[^a]\ncreate=@\nread=@\nupdate=@\ndelete=@\n[^b]\n",           // no entries, no [DEFAULT]
  };
  for (const char* text : bad) {
    EXPECT_FALSE(PropertyProtections::Parse(text, Format::kRoles, nullptr).ok()) << text;
  }
  EXPECT_FALSE(
      PropertyProtections::Parse("[^a]\ncreate=p1,p2\nread=p\nupdate=p\ndelete=p\n", Format::kPolicies, nullptr).ok());
}

// A backtracking engine takes exponential time on these (std::regex: ^(a+)+$ against 24
// a's and a '!' took 0.57 s, each further 'a' doubling it; (a|aa)*b on 255 a's did not end
// in 20 s). A user picks the name, up to 255 characters. The check runs on its own thread
// so that a regression fails here instead of hanging the suite.
TEST(PropertyProtections, ExpressionsTakeLinearTimeWhateverTheName) {
  auto p = PropertyProtections::Parse(
      "[^(a+)+$]\ncreate=@\nread=@\nupdate=@\ndelete=@\n"
      "[(a|aa)*b]\ncreate=@\nread=@\nupdate=@\ndelete=@\n"
      "[(x*)*y]\ncreate=@\nread=@\nupdate=@\ndelete=@\n",
      Format::kRoles, nullptr);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto check = std::async(std::launch::async, [&] {
    const auto ctx = WithRoles({});
    return !(*p)->Allowed(std::string(254, 'a') + "!", PropertyOp::kRead, ctx) &&
           !(*p)->Allowed(std::string(254, 'x'), PropertyOp::kRead, ctx) &&
           (*p)->Allowed(std::string(200, 'a') + "b", PropertyOp::kRead, ctx) &&
           (*p)->Allowed(std::string(60, 'a'), PropertyOp::kRead, ctx);
  });
  if (check.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    std::fprintf(stderr, "property protection expressions did not answer in 10 s\n");
    std::abort();  // the future's destructor would wait for the runaway match
  }
  EXPECT_TRUE(check.get());
}

TEST(PropertyProtections, ExpressionsRe2CannotRunAreRefusedNamingTheSection) {
  for (const char* section : {"x(?=y)", "(?!x_)", "(a)\\1", "(?<=a)b"}) {
    auto p = PropertyProtections::Parse(std::string("[") + section + "]\ncreate=@\nread=@\nupdate=@\ndelete=@\n",
                                        Format::kRoles, nullptr);
    ASSERT_FALSE(p.ok()) << section;
    EXPECT_NE(p.status().message().find(std::string("[") + section + "]"), std::string::npos) << p.status().ToString();
  }
}

TEST(PropertyProtections, PythonSyntaxSuchFilesUseIsAccepted) {
  auto p = PropertyProtections::Parse("[(?i)^X_(?P<rest>[a-z]+)$]\ncreate=@\nread=@\nupdate=@\ndelete=@\n",
                                      Format::kRoles, nullptr);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE((*p)->Allowed("x_abc", PropertyOp::kRead, WithRoles({})));
  EXPECT_FALSE((*p)->Allowed("x_ab1", PropertyOp::kRead, WithRoles({})));
}

// configparser reads a header to the line's last ']'; Boost's reader stopped at the first
// and dropped the rest of the line, so [a]b] governed names with "a" instead of "a]b".
TEST(PropertyProtections, SectionHeadersEndAtTheLastBracketAsInConfigparser) {
  auto p = PropertyProtections::Parse(
      "[^x_[a-z]+$]\ncreate=@\nread=@\nupdate=@\ndelete=@\n[a]b]\ncreate=@\nread=@\nupdate=@\ndelete=@\n",
      Format::kRoles, nullptr);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE((*p)->Allowed("x_abc", PropertyOp::kRead, WithRoles({})));
  EXPECT_FALSE((*p)->Allowed("x_ab1", PropertyOp::kRead, WithRoles({})));
  EXPECT_TRUE((*p)->Allowed("a]b", PropertyOp::kRead, WithRoles({})));
  EXPECT_FALSE((*p)->Allowed("a", PropertyOp::kRead, WithRoles({})));
  // A section without entries is a rule of [DEFAULT]'s entries, in its place in the file.
  p = PropertyProtections::Parse("[DEFAULT]\ncreate=admin\nread=@\nupdate=admin\ndelete=!\n[^x_]\n"
                                 "[.*]\ncreate=@\n",
                                 Format::kRoles, nullptr);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE((*p)->Allowed("x_a", PropertyOp::kCreate, WithRoles({"member"})));
  EXPECT_TRUE((*p)->Allowed("y_a", PropertyOp::kCreate, WithRoles({"member"})));
}

TEST(PropertyProtections, PoliciesFormatEvaluatesNamedRules) {
  ManualClock clock;
  PolicyEngine policy(/*secure_rbac=*/true, "/nonexistent/policy.yaml", clock);
  auto p = PropertyProtections::Parse(
      "[^x_.*]\ncreate = default\nread = context_is_admin\nupdate = no_such_rule\ndelete = @\n", Format::kPolicies,
      &policy);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto admin = WithRoles({"admin"});
  auto member = WithRoles({"member"});
  EXPECT_TRUE((*p)->Allowed("x_a", PropertyOp::kRead, admin));
  EXPECT_FALSE((*p)->Allowed("x_a", PropertyOp::kRead, member));
  EXPECT_FALSE((*p)->Allowed("x_a", PropertyOp::kUpdate, admin));  // an undefined rule allows no one
  EXPECT_TRUE((*p)->Allowed("x_a", PropertyOp::kDelete, member));
}

}  // namespace
}  // namespace glint::auth
