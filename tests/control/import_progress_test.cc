#include "control/import_progress.h"

#include <gtest/gtest.h>

namespace glint::control {
namespace {

TEST(ImportProgress, StoreListsKeepOrderAndNeverRepeat) {
  EXPECT_EQ(EditStoreList("", {"a", "b"}, {}), "a,b");
  EXPECT_EQ(EditStoreList("a,b", {"b", "c"}, {}), "a,b,c");
  EXPECT_EQ(EditStoreList("a,b,c", {}, {"b"}), "a,c");
  EXPECT_EQ(EditStoreList("a", {}, {"a"}), "");
  EXPECT_EQ(EditStoreList(",a,,b,", {}, {"x"}), "a,b");  // empty items (a hand-edited value) drop out
  EXPECT_EQ(EditStoreList("a", {"b"}, {"b"}), "a");       // removal wins
}

}  // namespace
}  // namespace glint::control
