// The oslo.policy rule language and Glance's defaults in both modes.
#include <fstream>
#include <string>
#include <thread>

#include "auth/policy.h"
#include "tests/support/test_support.h"

namespace glint::auth {
namespace {

RequestContext Ctx(std::vector<std::string> roles, std::optional<std::string> project) {
  RequestContext c;
  c.roles = std::move(roles);
  c.project_id = std::move(project);
  for (const auto& r : c.roles) c.is_admin |= (r == "admin");
  return c;
}

class PolicyFile {
 public:
  explicit PolicyFile(const std::string& text) {
    path_ = dir_.path() + "/policy.yaml";
    Write(text);
  }
  void Write(const std::string& text) {
    std::ofstream(path_) << text;
  }
  const std::string& path() const { return path_; }

 private:
  glint::testing::TempDir dir_;
  std::string path_;
};

TEST(Policy, SyntaxChecks) {
  EXPECT_OK(PolicyEngine::Check(""));
  EXPECT_OK(PolicyEngine::Check("role:admin or (role:member and project_id:%(project_id)s)"));
  EXPECT_OK(PolicyEngine::Check("not role:reader and 'public':%(visibility)s"));
  EXPECT_OK(PolicyEngine::Check("@"));
  EXPECT_FALSE(PolicyEngine::Check("role:admin or").ok());
  EXPECT_FALSE(PolicyEngine::Check("(role:admin").ok());
  EXPECT_FALSE(PolicyEngine::Check("admin").ok());
}

TEST(Policy, SecureRbacDefaults) {
  PolicyEngine p(/*secure_rbac=*/true, "");
  PolicyTarget own = {{"project_id", "p1"}, {"owner", "p1"}, {"visibility", "private"}};
  PolicyTarget other = {{"project_id", "p2"}, {"owner", "p2"}, {"visibility", "private"}};
  PolicyTarget pub = {{"project_id", "p2"}, {"owner", "p2"}, {"visibility", "public"}};
  auto member = Ctx({"member", "reader"}, "p1");
  auto reader = Ctx({"reader"}, "p1");
  auto admin = Ctx({"admin"}, "p9");
  EXPECT_TRUE(p.Allowed("modify_image", member, own));
  EXPECT_FALSE(p.Allowed("modify_image", member, other));
  EXPECT_FALSE(p.Allowed("modify_image", reader, own)) << "readers only read";
  EXPECT_TRUE(p.Allowed("get_image", reader, own));
  EXPECT_TRUE(p.Allowed("get_image", reader, pub));
  EXPECT_FALSE(p.Allowed("get_image", reader, other));
  EXPECT_TRUE(p.Allowed("modify_image", admin, other));
  EXPECT_FALSE(p.Allowed("publicize_image", member, own));
  EXPECT_TRUE(p.Allowed("publicize_image", admin, own));
  EXPECT_TRUE(p.Allowed("publicize_image", Ctx({"ADMIN"}, "p1"), own)) << "roles compare case-insensitively";
  PolicyTarget shared_member = {{"project_id", "p2"}, {"member_id", "p1"}, {"visibility", "shared"}};
  EXPECT_TRUE(p.Allowed("modify_member", member, shared_member));
  EXPECT_FALSE(p.Allowed("modify_member", reader, shared_member));
}

TEST(Policy, LegacyModeAllowsWhatTheDeprecatedRuleAllows) {
  PolicyEngine p(/*secure_rbac=*/false, "");
  PolicyTarget other = {{"project_id", "p2"}, {"owner", "p2"}, {"visibility", "private"}};
  auto nobody = Ctx({}, "p1");
  EXPECT_TRUE(p.Allowed("modify_image", nobody, other)) << "ownership is checked by the API, not policy";
  EXPECT_FALSE(p.Allowed("publicize_image", nobody, other)) << "admin-only in both modes";
  EXPECT_TRUE(p.Allowed("publicize_image", Ctx({"admin"}, std::nullopt), other));
}

TEST(Policy, FileOverridesAndReloadsWithoutRestart) {
  PolicyFile f("get_images: \"role:admin\"\nmy_rule: \"role:reader\"\nadd_image: \"rule:my_rule\"\n");
  ManualClock clock;
  PolicyEngine p(/*secure_rbac=*/false, f.path(), clock);
  EXPECT_OK(p.load_status());
  PolicyTarget t = {{"project_id", "p1"}, {"owner", "p1"}};
  EXPECT_FALSE(p.Allowed("get_images", Ctx({"member"}, "p1"), t));
  EXPECT_TRUE(p.Allowed("add_image", Ctx({"reader"}, "p1"), t));
  EXPECT_FALSE(p.Allowed("add_image", Ctx({"member"}, "p1"), t));
  f.Write("{\"get_images\": \"\", \"add_image\": \"!\"}");  // JSON works too
  EXPECT_FALSE(p.Allowed("get_images", Ctx({"member"}, "p1"), t)) << "the file is checked at most once a second";
  clock.AdvanceSeconds(1.1);
  EXPECT_TRUE(p.Allowed("get_images", Ctx({"member"}, "p1"), t));
  EXPECT_FALSE(p.Allowed("add_image", Ctx({"admin"}, "p1"), t));
}

TEST(Policy, AFileThatDoesNotParseKeepsTheLastGoodPolicy) {
  PolicyFile f("get_images: \"role:admin\"\n");
  ManualClock clock;
  PolicyEngine p(/*secure_rbac=*/false, f.path(), clock);
  PolicyTarget t = {{"project_id", "p1"}, {"owner", "p1"}};
  EXPECT_FALSE(p.Allowed("get_images", Ctx({"member"}, "p1"), t));
  for (const char* broken : {"get_images: [unclosed\n", "get_images: \"role:admin or\"\n", "- a list\n"}) {
    f.Write(broken);
    clock.AdvanceSeconds(1.1);
    EXPECT_FALSE(p.Allowed("get_images", Ctx({"member"}, "p1"), t)) << broken;
    EXPECT_TRUE(p.Allowed("get_images", Ctx({"admin"}, "p1"), t)) << "not reverted to deny-all either: " << broken;
    EXPECT_FALSE(p.load_status().ok()) << broken;
  }
  f.Write("get_images: \"\"\n");
  clock.AdvanceSeconds(1.1);
  EXPECT_TRUE(p.Allowed("get_images", Ctx({"member"}, "p1"), t));
  EXPECT_OK(p.load_status());
}

TEST(Policy, BrokenRuleDeniesAndIsReported) {
  PolicyFile f("get_images: \"role:admin or\"\nloop: \"rule:loop\"\n");
  PolicyEngine p(false, f.path());
  EXPECT_FALSE(p.load_status().ok());
  EXPECT_FALSE(p.Allowed("get_images", Ctx({"admin"}, "p1"), {}));
  EXPECT_FALSE(p.Allowed("loop", Ctx({"admin"}, "p1"), {}));
}

TEST(Policy, GenericAndLiteralChecks) {
  PolicyFile f("a: \"is_admin:True\"\nb: \"'shared':%(visibility)s and not project_id:%(owner)s\"\n"
               "c: \"user_id:%(user)s\"\n");
  PolicyEngine p(true, f.path());
  auto admin = Ctx({"admin"}, "p1");
  EXPECT_TRUE(p.Allowed("a", admin, {}));
  EXPECT_FALSE(p.Allowed("a", Ctx({"member"}, "p1"), {}));
  EXPECT_TRUE(p.Allowed("b", admin, {{"visibility", "shared"}, {"owner", "p2"}}));
  EXPECT_FALSE(p.Allowed("b", admin, {{"visibility", "shared"}, {"owner", "p1"}}));
  EXPECT_FALSE(p.Allowed("b", admin, {{"owner", "p2"}})) << "a missing target field never matches";
  RequestContext u = Ctx({}, "p1");
  u.user_id = "u7";
  EXPECT_TRUE(p.Allowed("c", u, {{"user", "u7"}}));
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// Found running fuzz/policy_fuzz.cc on long inputs: deep nesting overflowed the stack of
// the recursive parser.
TEST(Policy, DeepNestingIsRefused) {
  EXPECT_OK(PolicyEngine::Check(Repeat("(", 64) + "role:admin" + Repeat(")", 64)));
  EXPECT_FALSE(PolicyEngine::Check(Repeat("(", 65) + "role:admin" + Repeat(")", 65)).ok());
  EXPECT_FALSE(PolicyEngine::Check(Repeat("(", 50000) + "@" + Repeat(")", 50000)).ok());
  EXPECT_FALSE(PolicyEngine::Check(Repeat("not ", 20000) + "@").ok());
  EXPECT_OK(PolicyEngine::Check(Repeat("not ", 64) + "@"));
}

// Found running fuzz/policy_fuzz.cc on long inputs: a long `and`/`or` chain became a chain
// of nodes as deep as it was long, and evaluating or freeing it overflowed the stack.
TEST(Policy, LongChainsParseAndEvaluate) {
  std::string any_of = Repeat("role:r or ", 100000) + "role:admin";
  std::string all_of = Repeat("@ and ", 100000) + "role:admin";
  EXPECT_OK(PolicyEngine::Check(any_of));
  PolicyFile f("a: \"" + any_of + "\"\nb: \"" + all_of + "\"\nc: \"" + Repeat("! or ", 100000) + "!\"\n");
  PolicyEngine p(true, f.path());
  EXPECT_OK(p.load_status());
  EXPECT_TRUE(p.Allowed("a", Ctx({"admin"}, "p1"), {}));
  EXPECT_FALSE(p.Allowed("a", Ctx({"member"}, "p1"), {}));
  EXPECT_TRUE(p.Allowed("b", Ctx({"admin"}, "p1"), {}));
  EXPECT_FALSE(p.Allowed("b", Ctx({"member"}, "p1"), {}));
  EXPECT_FALSE(p.Allowed("c", Ctx({"admin"}, "p1"), {}));
}

}  // namespace
}  // namespace glint::auth
