#include "fs/image_tree.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "fs/image_xattrs.h"

namespace glint::fs {
namespace {

ImageEntry Image(std::string id, std::optional<std::string> name, std::string created,
                 std::optional<std::string> owner = std::nullopt) {
  ImageEntry e;
  e.id = std::move(id);
  e.name = std::move(name);
  e.owner = std::move(owner);
  e.status = "active";
  e.fields["created_at"] = std::move(created);
  return e;
}

constexpr const char* kA = "aaaaaaaa-0000-4000-8000-000000000001";
constexpr const char* kB = "bbbbbbbb-0000-4000-8000-000000000002";
constexpr const char* kC = "cccccccc-0000-4000-8000-000000000003";

TEST(ImageTreeTest, SafeNames) {
  EXPECT_EQ(SafeName("odd/name"), "odd_name");
  EXPECT_EQ(SafeName("."), "_.");
  EXPECT_EQ(SafeName(".."), "_..");
  EXPECT_EQ(SafeName(std::string(300, 'x')).size(), 200u);
  EXPECT_EQ(ProjectDirName(Image(kA, "n", "t")), "_none");
  EXPECT_EQ(ProjectDirName(Image(kA, "n", "t", "p/1")), "p_1");
}

TEST(ImageTreeTest, OldestImageKeepsADuplicateName) {
  // Listed newest first: the order of the listing must not matter.
  ImageTree t = BuildImageTree({Image(kB, "cirros", "2026-01-02T00:00:00Z"),
                                Image(kA, "cirros", "2026-01-01T00:00:00Z"),
                                Image(kC, "cirros", "2026-01-01T00:00:00Z")});
  ASSERT_EQ(t.names.size(), 3u);
  EXPECT_EQ(t.names.at("cirros"), kA);  // oldest; kC ties on created_at and loses on id
  EXPECT_EQ(t.names.at("cirros~cccccccc"), kC);
  EXPECT_EQ(t.names.at("cirros~bbbbbbbb"), kB);
  EXPECT_EQ(t.images.size(), 3u);
}

TEST(ImageTreeTest, UnnamedImagesHaveNoNameAndProjectsGroupByOwner) {
  ImageTree t = BuildImageTree({Image(kA, std::nullopt, "1", "p1"), Image(kB, std::string(), "2", "p1"),
                                Image(kC, "c", "3")});
  EXPECT_EQ(t.names.size(), 1u);
  EXPECT_EQ(t.names.at("c"), kC);
  EXPECT_EQ(t.projects.at("p1"), (std::set<std::string>{kA, kB}));
  EXPECT_EQ(t.projects.at("_none"), (std::set<std::string>{kC}));
}

TEST(ImageTreeTest, DiffNamesWhatLeftAndWhatMoved) {
  ImageTree before = BuildImageTree({Image(kA, "x", "1", "p1"), Image(kB, "x", "2", "p2"), Image(kC, "c", "3")});
  // kA is gone: kB takes the plain name "x", "x~bbbbbbbb" goes away, p1 is empty.
  ImageTree after = BuildImageTree({Image(kB, "x", "2", "p2"), Image(kC, "c", "3")});
  TreeChanges c = DiffImageTrees(before, after);
  EXPECT_EQ(c.dropped_ids, std::vector<std::string>{kA});
  std::sort(c.stale_names.begin(), c.stale_names.end());
  EXPECT_EQ(c.stale_names, (std::vector<std::string>{"x", "x~bbbbbbbb"}));
  ASSERT_EQ(c.stale_links.size(), 1u);
  EXPECT_EQ(c.stale_links[0], std::make_pair(std::string("p1"), std::string(kA)));
  EXPECT_EQ(c.added_names, std::vector<std::string>{}) << "\"x\" moved, it did not appear";
  EXPECT_TRUE(c.added_ids.empty() && c.added_projects.empty() && c.added_links.empty());
  TreeChanges back = DiffImageTrees(after, before);
  EXPECT_EQ(back.added_ids, std::vector<std::string>{kA});
  EXPECT_EQ(back.added_names, std::vector<std::string>{"x~bbbbbbbb"});
  EXPECT_EQ(back.added_projects, std::vector<std::string>{"p1"});
  ASSERT_EQ(back.added_links.size(), 1u);
  EXPECT_EQ(back.added_links[0], std::make_pair(std::string("p1"), std::string(kA)));
  TreeChanges none = DiffImageTrees(after, after);
  EXPECT_TRUE(none.dropped_ids.empty() && none.stale_names.empty() && none.stale_links.empty());
  EXPECT_TRUE(none.added_ids.empty() && none.added_names.empty() && none.added_links.empty());
}

TEST(ImageXattrsTest, FieldsAreUserGlintAttributes) {
  ImageEntry e = Image(kA, "n", "2026");
  e.fields["checksum"] = "abc";
  EXPECT_EQ(ImageXattr(e, "user.glint.checksum"), "abc");
  EXPECT_EQ(ImageXattr(e, "user.glint.nope"), std::nullopt);
  EXPECT_EQ(ImageXattr(e, "checksum"), std::nullopt);
  EXPECT_EQ(ImageXattr(e, "security.glint.checksum"), std::nullopt);
  EXPECT_EQ(ImageXattrNames(e), std::string("user.glint.checksum\0user.glint.created_at\0", 42));
}

}  // namespace
}  // namespace glint::fs
