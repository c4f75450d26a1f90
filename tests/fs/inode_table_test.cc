#include "fs/inode_table.h"

#include <gtest/gtest.h>

namespace glint::fs {
namespace {

auto Listed(bool listed) {
  return [listed](const Node&) { return listed; };
}

TEST(InodeTableTest, FixedDirectoriesAreNotAllocated) {
  InodeTable t;
  for (Ino ino : {kRootIno, kByIdIno, kByNameIno, kByProjectIno}) EXPECT_TRUE(InodeTable::IsFixedDir(ino));
  Ino first = t.InoFor(NodeKind::kImage, "a");
  EXPECT_FALSE(InodeTable::IsFixedDir(first));
  EXPECT_GT(first, kByProjectIno);
}

TEST(InodeTableTest, SameKindAndKeyKeepTheirNumber) {
  InodeTable t;
  Ino a = t.InoFor(NodeKind::kImage, "id-1");
  EXPECT_EQ(t.InoFor(NodeKind::kImage, "id-1"), a);
  // The same key in another directory is another node.
  Ino link = t.InoFor(NodeKind::kNameLink, "id-1");
  EXPECT_NE(link, a);
  EXPECT_EQ(t.Find(NodeKind::kImage, "id-1"), a);
  EXPECT_EQ(t.Find(NodeKind::kProjectDir, "id-1"), 0u);
  ASSERT_NE(t.NodeFor(link), nullptr);
  EXPECT_EQ(t.NodeFor(link)->kind, NodeKind::kNameLink);
  EXPECT_EQ(t.NodeFor(link)->key, "id-1");
  EXPECT_EQ(t.NodeFor(12345), nullptr);
}

TEST(InodeTableTest, ForgetReleasesOnlyUnreferencedUnlistedNodes) {
  InodeTable t;
  Ino a = t.InoFor(NodeKind::kImage, "a");
  t.AddLookup(a);
  t.AddLookup(a);
  t.Forget(a, 1, Listed(false));
  ASSERT_NE(t.NodeFor(a), nullptr) << "one kernel reference is left";
  EXPECT_EQ(t.NodeFor(a)->nlookup, 1u);
  t.Forget(a, 1, Listed(true));
  EXPECT_NE(t.NodeFor(a), nullptr) << "still in the tree: the number stays";
  t.Forget(a, 0, Listed(false));
  EXPECT_EQ(t.NodeFor(a), nullptr);
  EXPECT_EQ(t.Find(NodeKind::kImage, "a"), 0u);
  // A released number is never handed out again for another node.
  Ino again = t.InoFor(NodeKind::kImage, "a");
  EXPECT_NE(again, a);
}

TEST(InodeTableTest, ForgetMoreThanLookedUpDoesNotWrap) {
  InodeTable t;
  Ino a = t.InoFor(NodeKind::kImage, "a");
  t.AddLookup(a);
  t.Forget(a, 5, Listed(true));
  ASSERT_NE(t.NodeFor(a), nullptr);
  EXPECT_EQ(t.NodeFor(a)->nlookup, 0u);
  t.Forget(999, 1, Listed(false));  // unknown inode: ignored
  EXPECT_EQ(t.size(), 1u);
}

}  // namespace
}  // namespace glint::fs
