#include "control/list_cache.h"

#include <gtest/gtest.h>

#include <fstream>

#include "control/config.h"
#include "tests/support/test_support.h"

namespace glint::control {
namespace {

std::shared_ptr<const std::string> Body(size_t n, char c = 'x') { return std::make_shared<const std::string>(n, c); }

TEST(ListCache, ServesABodyOnlyForItsKeyAndGeneration) {
  ListCache cache(8, 1 << 20);
  EXPECT_EQ(cache.Find(5, "k"), nullptr);
  cache.Store(5, "k", Body(10, 'a'));
  ASSERT_NE(cache.Find(5, "k"), nullptr);
  EXPECT_EQ(*cache.Find(5, "k"), std::string(10, 'a'));
  EXPECT_EQ(cache.Find(5, "other"), nullptr);
  EXPECT_EQ(cache.Find(6, "k"), nullptr);  // the catalog changed: not served
  EXPECT_EQ(cache.Find(4, "k"), nullptr);
}

TEST(ListCache, ANewerGenerationDropsTheKeptBodiesAndAnOlderOneIsNotKept) {
  ListCache cache(8, 1 << 20);
  cache.Store(5, "a", Body(10));
  cache.Store(5, "b", Body(10));
  EXPECT_EQ(cache.entries(), 2u);
  cache.Store(7, "c", Body(10));
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.Find(5, "a"), nullptr);
  // A listing read at generation 6 that finishes after one at 7 was stored: not kept.
  cache.Store(6, "a", Body(10));
  EXPECT_EQ(cache.Find(6, "a"), nullptr);
  EXPECT_EQ(cache.entries(), 1u);
  ASSERT_NE(cache.Find(7, "c"), nullptr);
}

TEST(ListCache, BoundedInEntriesLeastRecentlyUsedOutFirst) {
  ListCache cache(3, 1 << 20);
  cache.Store(1, "a", Body(1));
  cache.Store(1, "b", Body(1));
  cache.Store(1, "c", Body(1));
  ASSERT_NE(cache.Find(1, "a"), nullptr);  // a is now the most recently used
  cache.Store(1, "d", Body(1));
  EXPECT_EQ(cache.entries(), 3u);
  EXPECT_EQ(cache.Find(1, "b"), nullptr);
  EXPECT_NE(cache.Find(1, "a"), nullptr);
  EXPECT_NE(cache.Find(1, "c"), nullptr);
  EXPECT_NE(cache.Find(1, "d"), nullptr);
}

TEST(ListCache, BoundedInBytesAndAReplacedBodyIsCountedOnce) {
  ListCache cache(100, 4000);
  for (int i = 0; i < 10; ++i) cache.Store(1, "k" + std::to_string(i), Body(900));
  EXPECT_LE(cache.bytes(), 4000u);
  EXPECT_EQ(cache.entries(), 4u);  // 4 x (900 + 2) bytes
  cache.Store(1, "k9", Body(500));
  EXPECT_EQ(cache.entries(), 4u);
  EXPECT_EQ(cache.bytes(), 3u * 902 + 502);
  cache.Store(1, "huge", Body(1500));  // over a quarter of the bound: never kept
  EXPECT_EQ(cache.Find(1, "huge"), nullptr);
  EXPECT_EQ(cache.entries(), 4u);
}

TEST(ListCacheKey, DiffersForEveryCallerAndQueryAListingDependsOn) {
  using Query = std::vector<std::pair<std::string, std::string>>;
  auth::RequestContext base;
  base.user_id = "u";
  base.project_id = "p";
  base.roles = {"member", "reader"};
  const Query q = {{"limit", "25"}};
  auto with = [&](auto change) {
    auth::RequestContext c = base;
    change(c);
    return ListCacheKey(c, q);
  };
  const std::string key = ListCacheKey(base, q);
  EXPECT_EQ(with([](auth::RequestContext& c) { c.roles = {"reader", "member"}; }), key);  // order alone
  EXPECT_NE(with([](auth::RequestContext& c) { c.user_id = "v"; }), key);
  EXPECT_NE(with([](auth::RequestContext& c) { c.project_id = "q"; }), key);
  EXPECT_NE(with([](auth::RequestContext& c) { c.project_id = std::nullopt; }), key);
  EXPECT_NE(with([](auth::RequestContext& c) { c.project_id = ""; }), with([](auth::RequestContext& c) {
              c.project_id = std::nullopt;
            }));
  EXPECT_NE(with([](auth::RequestContext& c) { c.is_admin = true; }), key);
  EXPECT_NE(with([](auth::RequestContext& c) { c.roles = {"member"}; }), key);
  EXPECT_NE(with([](auth::RequestContext& c) { c.roles.push_back("admin"); }), key);
  EXPECT_NE(with([](auth::RequestContext& c) { c.service_roles = {"service"}; }), key);
  // Text that would run together without the lengths: a hostile caller cannot make its
  // key equal another's by moving characters between parts.
  auth::RequestContext a, b;
  a.user_id = "u1";
  a.project_id = "p";
  b.user_id = "u";
  b.project_id = "1p";
  EXPECT_NE(ListCacheKey(a, q), ListCacheKey(b, q));
  a = b = auth::RequestContext{};
  a.roles = {"a", "b"};
  b.roles = {"a:b"};
  EXPECT_NE(ListCacheKey(a, q), ListCacheKey(b, q));
  EXPECT_NE(ListCacheKey(base, Query{{"a", "bc"}}), ListCacheKey(base, Query{{"ab", "c"}}));
  EXPECT_NE(ListCacheKey(base, Query{{"a", "1:b"}}), ListCacheKey(base, Query{{"a", "1"}, {"b", ""}}));
  EXPECT_NE(ListCacheKey(base, Query{{"limit", "25"}, {"tag", "x"}}), ListCacheKey(base, Query{{"limit", "25"}}));
}

TEST(ListCache, NoBytesMeansOff) {
  ListCache cache(1024, 0);
  cache.Store(1, "k", Body(10));
  EXPECT_EQ(cache.Find(1, "k"), nullptr);
  EXPECT_EQ(cache.entries(), 0u);
}

Status LoadListCacheOption(const std::string& value, Config* config) {
  glint::testing::TempDir dir;
  const std::string path = dir.path() + "/glint-api.conf";
  std::ofstream(path) << "[glint]\nlist_cache_mib = " << value << "\n";
  return LoadConfigFile(path, config);
}

TEST(ListCache, SizeOptionDefaultsTo32MibAndIsBounded) {
  EXPECT_EQ(Config{}.list_cache_mib, 32);
  Config c;
  ASSERT_TRUE(LoadListCacheOption("0", &c).ok());
  EXPECT_EQ(c.list_cache_mib, 0);
  EXPECT_FALSE(LoadListCacheOption("-1", &c).ok());
  EXPECT_FALSE(LoadListCacheOption("4097", &c).ok());
  EXPECT_FALSE(LoadListCacheOption("lots", &c).ok());
}

}  // namespace
}  // namespace glint::control
