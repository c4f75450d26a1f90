// TokenService: tokens round-trip, and whatever is presented is refused with 401, never
// thrown at the caller.
#include <cstdint>
#include <memory>
#include <string>

#include "auth/identity.h"
#include "common/digest.h"
#include "tests/support/sealed_token.h"
#include "tests/support/test_support.h"

namespace glint::auth {
namespace {

class TokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 32; ++i) key_.push_back(static_cast<char>(i));
    Status status;
    store_ = OpenIdentityStore("sqlite:///:memory:", &status);
    ASSERT_OK(status);
    ASSERT_OK(store_->AddTokenKey(HexEncode(reinterpret_cast<const unsigned char*>(key_.data()), key_.size()), 0));
    tokens_ = std::make_unique<TokenService>(*store_, 3600);
  }
  std::string Seal(const std::string& payload) { return glint::testing::SealToken(payload, key_, 1); }

  std::string key_;
  std::unique_ptr<IdentityStore> store_;
  std::unique_ptr<TokenService> tokens_;
};

TEST_F(TokensTest, SealedPayloadValidates) {
  auto info = tokens_->Validate(
      Seal(R"({"u":"u1","p":"p1","i":1,"e":4102444800000000,"a":"audit1","m":["password"]})"));
  ASSERT_OK(info.status());
  EXPECT_EQ(info->user_id, "u1");
  EXPECT_EQ(info->project_id, "p1");
  EXPECT_EQ(info->methods, std::vector<std::string>{"password"});
}

// Found by fuzz/token_fuzz.cc: a payload field of another type threw json::type_error out
// of Validate (and out of the authenticator's worker job); a float time too large for 64
// bits was converted with undefined behaviour.
TEST_F(TokensTest, PayloadOfAnotherShapeIsUnauthenticated) {
  for (const char* payload : {R"({"u": "u1", "p":889600000000, "a": "audit1", "m": ["paqord"]})",
                              R"({"u":5,"e":4102444800000000})", R"({"u":"u1","e":"soon"})",
                              R"({"u":"u1","e":4102444800000000,"m":[1]})", R"([1,2])", R"("u")",
                              R"({"u":"u2","i":1700004144428000000000,"e":4102444800000000})",
                              R"({"u":"u2","i":1,"e":4102444800000000.5})"}) {
    auto info = tokens_->Validate(Seal(payload));
    EXPECT_EQ(info.status().code(), Status::Code::kUnauthenticated) << payload;
  }
}

}  // namespace
}  // namespace glint::auth
