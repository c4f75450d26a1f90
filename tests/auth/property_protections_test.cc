// Property protections: Glance's rule file semantics in both formats, and the files Glance
// refuses to start with.
#include "auth/property_protections.h"

#include <gtest/gtest.h>

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
  };
  for (const char* text : bad) {
    EXPECT_FALSE(PropertyProtections::Parse(text, Format::kRoles, nullptr).ok()) << text;
  }
  EXPECT_FALSE(
      PropertyProtections::Parse("[^a]\ncreate=p1,p2\nread=p\nupdate=p\ndelete=p\n", Format::kPolicies, nullptr).ok());
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
