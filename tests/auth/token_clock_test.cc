// Built-in identity tokens on a ManualClock: expiry and the validation cache are decided
// by the injected clock, so these tests need no sleep.
#include <gtest/gtest.h>

#include "auth/identity.h"
#include "common/clock.h"
#include "tests/support/test_support.h"

namespace glint::auth {
namespace {

class TokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s;
    store_ = OpenIdentityStore("sqlite:///" + dir_.path() + "/id.db", &s);
    ASSERT_TRUE(store_) << s.ToString();
    ASSERT_TRUE(store_->EnsureRole("member").ok());
    auto p = store_->CreateProject("p1");
    ASSERT_TRUE(p.ok());
    auto u = store_->CreateUser("u1", "pw", p->id);
    ASSERT_TRUE(u.ok());
    ASSERT_TRUE(store_->AssignRole(u->id, p->id, "member").ok());
    info_.user_id = u->id;
    info_.project_id = p->id;
  }
  TokenInfo Fresh(const TokenService& tokens) {
    TokenInfo info = info_;
    info.issued_at = clock_.NowMicros();
    info.expires_at = info.issued_at + tokens.lifetime_seconds() * 1000000;
    info.methods = {"password"};
    info.audit_id = "audit";
    return info;
  }
  glint::testing::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<IdentityStore> store_;
  TokenInfo info_;
};

TEST_F(TokenTest, ATokenExpiresOnTheInjectedClock) {
  TokenService tokens(*store_, 60, clock_);
  auto token = tokens.Issue(Fresh(tokens));
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_TRUE(tokens.Validate(*token).ok());
  clock_.AdvanceSeconds(59);
  EXPECT_TRUE(tokens.Validate(*token).ok());
  clock_.AdvanceSeconds(2);
  EXPECT_EQ(tokens.Validate(*token).status().code(), Status::Code::kUnauthenticated);
}

TEST_F(TokenTest, TheAuthenticatorsCacheNeverOutlivesTheToken) {
  TokenService tokens(*store_, 60, clock_);
  auto authn = NewIdentityAuthenticator(*store_, tokens, "");
  auto token = tokens.Issue(Fresh(tokens));
  ASSERT_TRUE(token.ok());
  auto ctx = authn->Authenticate({*token, ""});
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  EXPECT_EQ(ctx->project_id, info_.project_id);
  clock_.AdvanceSeconds(61);
  EXPECT_EQ(authn->Authenticate({*token, ""}).status().code(), Status::Code::kUnauthenticated);
}

TEST_F(TokenTest, TamperedTokensAreRefused) {
  TokenService tokens(*store_, 60, clock_);
  auto token = tokens.Issue(Fresh(tokens));
  ASSERT_TRUE(token.ok());
  std::string t = *token;
  t[t.size() / 2] = t[t.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(tokens.Validate(t).ok());
  EXPECT_FALSE(tokens.Validate("").ok());
  EXPECT_FALSE(tokens.Validate(std::string(5000, 'x')).ok());
}

TEST(TokenRandomness, TokensAreAFunctionOfTheInjectedRandomness) {
  auto issue = [](uint64_t seed) {
    glint::testing::TempDir dir;
    Status s;
    auto store = OpenIdentityStore("sqlite:///" + dir.path() + "/id.db", &s);
    EXPECT_TRUE(store) << s.ToString();
    ManualClock clock;
    SeededRandom random(seed);
    TokenService tokens(*store, 60, clock, random);
    TokenInfo info;
    info.user_id = "u";
    info.issued_at = clock.NowMicros();
    info.expires_at = info.issued_at + 60000000;
    info.audit_id = "a";
    auto t = tokens.Issue(info);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : std::string();
  };
  EXPECT_EQ(issue(7), issue(7)) << "same key, same nonce: the same token";
  EXPECT_NE(issue(7), issue(8));
}

}  // namespace
}  // namespace glint::auth
