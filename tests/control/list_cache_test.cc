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
