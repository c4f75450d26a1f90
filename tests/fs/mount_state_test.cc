#include "fs/mount_state.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "fs/kernel_readahead.h"

namespace glint::fs {
namespace {

class NoData : public DataSource {
 public:
  Result<std::unique_ptr<store::Reader>> Open(const ImageEntry&) override { return Status::NotFound("no data"); }
  std::optional<int64_t> DataTime(const ImageEntry&) override { return 1700000000; }
};

constexpr const char* kImageA = "aaaaaaaa-0000-4000-8000-000000000001";
constexpr const char* kImageB = "bbbbbbbb-0000-4000-8000-000000000002";

ImageEntry MountedImage(std::string id, std::string name, std::optional<std::string> owner = std::nullopt) {
  ImageEntry e;
  e.id = std::move(id);
  e.name = std::move(name);
  e.owner = std::move(owner);
  e.size = 1000;
  e.fields["created_at"] = "2026-01-01T00:00:00Z";
  e.fields["checksum"] = "c-" + e.id.substr(0, 1);
  return e;
}

class MountStateTest : public ::testing::Test {
 protected:
  // Installs a listing the way the refresher does; returns what the kernel must forget.
  Invalidations Refresh(std::vector<ImageEntry> images, const std::set<std::string>& deleted = {}) {
    ImageTree fresh = BuildImageTree(std::move(images));
    TreeChanges changes = state_.ChangesTo(fresh);
    return state_.ApplyRefresh(std::move(fresh), changes, deleted, {});
  }
  std::vector<std::string> Names(Ino dir) {
    std::vector<DirEntry> entries;
    EXPECT_EQ(state_.ListDir(dir, &entries), 0);
    std::vector<std::string> names;
    for (const auto& e : entries) names.push_back(e.name);
    return names;
  }

  NoData source_;
  MountState state_{source_, NodeAttrs{2, 3600, 107, 64055, 0440, 0550}};
};

TEST_F(MountStateTest, ResolvesAndListsTheTree) {
  Refresh({MountedImage(kImageA, "alpine", "p1"), MountedImage(kImageB, "debian")});
  EXPECT_EQ(state_.Resolve(kRootIno, "by-id"), kByIdIno);
  EXPECT_EQ(state_.Resolve(kRootIno, "nope"), std::nullopt);
  EXPECT_EQ(Names(kRootIno), (std::vector<std::string>{".", "..", "by-id", "by-name", "by-project"}));
  EXPECT_EQ(Names(kByIdIno), (std::vector<std::string>{".", "..", kImageA, kImageB}));
  EXPECT_EQ(Names(kByProjectIno), (std::vector<std::string>{".", "..", "_none", "p1"}));

  auto file = state_.Resolve(kByIdIno, kImageA);
  ASSERT_TRUE(file);
  struct stat st;
  double timeout = 0;
  ASSERT_EQ(state_.Stat(*file, &st, &timeout), 0);
  EXPECT_EQ(st.st_mode, S_IFREG | 0440);
  EXPECT_EQ(st.st_uid, 107u);
  EXPECT_EQ(st.st_gid, 64055u);
  EXPECT_EQ(st.st_size, 1000);
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);
  EXPECT_EQ(timeout, 3600);
  EXPECT_EQ(state_.Xattr(*file, "user.glint.checksum"), "c-a");

  ASSERT_EQ(state_.Stat(kByIdIno, &st, &timeout), 0);
  EXPECT_EQ(st.st_mode, S_IFDIR | 0550);
  EXPECT_EQ(st.st_gid, 64055u);
  auto link = state_.Resolve(kByNameIno, "alpine");
  ASSERT_TRUE(link);
  EXPECT_EQ(state_.LinkTarget(*link), std::string("../by-id/") + kImageA);
  auto project = state_.Resolve(kByProjectIno, "p1");
  ASSERT_TRUE(project);
  EXPECT_EQ(Names(*project), (std::vector<std::string>{".", "..", kImageA}));
  auto plink = state_.Resolve(*project, kImageA);
  ASSERT_TRUE(plink);
  EXPECT_EQ(state_.LinkTarget(*plink), std::string("../../by-id/") + kImageA);
  ASSERT_EQ(state_.Stat(*plink, &st, &timeout), 0);
  EXPECT_EQ(st.st_size, static_cast<off_t>(state_.LinkTarget(*plink).size()));
  std::vector<DirEntry> entries;
  EXPECT_EQ(state_.ListDir(*file, &entries), ENOTDIR);
}

TEST_F(MountStateTest, RefreshInvalidatesWhatLeft) {
  Refresh({MountedImage(kImageA, "alpine", "p1"), MountedImage(kImageB, "debian")});
  Ino a = *state_.Resolve(kByIdIno, kImageA);
  Ino p1 = *state_.Resolve(kByProjectIno, "p1");
  Invalidations inval = Refresh({MountedImage(kImageB, "debian")});
  EXPECT_NE(std::find(inval.entries.begin(), inval.entries.end(), std::make_pair(kByIdIno, std::string(kImageA))),
            inval.entries.end());
  EXPECT_NE(std::find(inval.entries.begin(), inval.entries.end(), std::make_pair(kByNameIno, std::string("alpine"))),
            inval.entries.end());
  EXPECT_NE(std::find(inval.entries.begin(), inval.entries.end(), std::make_pair(p1, std::string(kImageA))),
            inval.entries.end());
  EXPECT_EQ(inval.inodes, std::vector<Ino>{a});
  EXPECT_EQ(state_.Resolve(kByIdIno, kImageA), std::nullopt);
  struct stat st;
  double timeout;
  EXPECT_EQ(state_.Stat(a, &st, &timeout), ENOENT);
  // When it comes back, the kernel's "no such name" for it is dropped at once.
  inval = Refresh({MountedImage(kImageA, "alpine", "p1"), MountedImage(kImageB, "debian")});
  EXPECT_NE(std::find(inval.entries.begin(), inval.entries.end(), std::make_pair(kByIdIno, std::string(kImageA))),
            inval.entries.end());
  EXPECT_NE(std::find(inval.entries.begin(), inval.entries.end(), std::make_pair(kByProjectIno, std::string("p1"))),
            inval.entries.end());
}

TEST_F(MountStateTest, OpenFilesOutliveTheTreeUntilDeleted) {
  Refresh({MountedImage(kImageA, "alpine")});
  Ino a = *state_.Resolve(kByIdIno, kImageA);
  ImageEntry held;
  std::shared_ptr<const std::atomic<bool>> gone;
  ASSERT_EQ(state_.HoldImage(a, &held, &gone), 0);
  EXPECT_EQ(held.id, kImageA);
  Refresh({});  // deactivated: still open, still stat-able
  struct stat st;
  double timeout;
  EXPECT_EQ(state_.Stat(a, &st, &timeout), 0);
  EXPECT_FALSE(gone->load());
  Refresh({}, {kImageA});  // deleted
  EXPECT_TRUE(gone->load());
  state_.ReleaseImage(kImageA);
  EXPECT_EQ(state_.Stat(a, &st, &timeout), ENOENT);
  EXPECT_EQ(state_.HoldImage(kByIdIno, &held, &gone), EISDIR);
}

TEST_F(MountStateTest, LookedUpImagesResolveUntilUnreadable) {
  Refresh({});
  EXPECT_EQ(state_.Resolve(kByIdIno, kImageB), std::nullopt);
  Ino b = state_.AddLookedUp(MountedImage(kImageB, "hidden"));
  EXPECT_EQ(state_.Resolve(kByIdIno, kImageB), b);
  EXPECT_EQ(state_.LookedUpIds(), std::vector<std::string>{kImageB});
  EXPECT_EQ(Names(kByIdIno), (std::vector<std::string>{".", ".."})) << "looked up, not listed";
  ImageTree fresh = BuildImageTree({});
  TreeChanges changes = state_.ChangesTo(fresh);
  Invalidations inval = state_.ApplyRefresh(std::move(fresh), changes, {}, {kImageB});
  EXPECT_EQ(inval.inodes, std::vector<Ino>{b});
  EXPECT_EQ(state_.Resolve(kByIdIno, kImageB), std::nullopt);
}

TEST_F(MountStateTest, ForgottenNodesKeepTheirNumberWhileListed) {
  Refresh({MountedImage(kImageA, "alpine")});
  Ino a = *state_.Resolve(kByIdIno, kImageA);
  struct stat st;
  double timeout;
  ASSERT_EQ(state_.Stat(a, &st, &timeout, /*count_lookup=*/true), 0);
  state_.Forget(a, 1);
  EXPECT_EQ(state_.Resolve(kByIdIno, kImageA), a);
  Refresh({});
  state_.Forget(a, 1);
  Refresh({MountedImage(kImageA, "alpine")});
  EXPECT_NE(state_.Resolve(kByIdIno, kImageA), a) << "released once unlisted and forgotten";
}

TEST(KernelReadaheadTest, UnescapesMountinfoPaths) {
  EXPECT_EQ(UnescapeMountinfoPath("/tmp/a\\040b\\011c\\134d"), "/tmp/a b\tc\\d");
  EXPECT_EQ(UnescapeMountinfoPath("/plain"), "/plain");
}

}  // namespace
}  // namespace glint::fs
