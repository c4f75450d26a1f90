// The backend conformance suite and RBD specifics on a real Ceph cluster. Runs under
// tests/with_ceph.sh, which starts a throwaway cluster and exports its environment
// (CEPH_CONF, GLINT_CEPH_POOL, GLINT_CEPH_USER). Without it the tests skip, except in CI
// (CI=true), where a skipped Ceph test is a failure.
#include <rados/librados.h>
#include <rbd/librbd.h>

#include <cstdlib>

#include "tests/store/backend_conformance.h"

namespace glint::store {
namespace {

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci && (std::string(ci) == "true" || std::string(ci) == "1");
}

RbdOptions OptionsFromEnv() {
  RbdOptions o;
  o.ceph_conf = std::getenv("CEPH_CONF") ? std::getenv("CEPH_CONF") : "";
  o.pool = std::getenv("GLINT_CEPH_POOL") ? std::getenv("GLINT_CEPH_POOL") : "images";
  o.user = std::getenv("GLINT_CEPH_USER") ? std::getenv("GLINT_CEPH_USER") : "";
  o.chunk_size_mib = 4;
  return o;
}

bool HaveCluster() { return std::getenv("CEPH_CONF") != nullptr; }

std::unique_ptr<Backend> FreshRbd() {
  auto b = NewRbdBackend("rbd", OptionsFromEnv());
  if (!b.ok()) {
    ADD_FAILURE() << b.status().ToString();
    return nullptr;
  }
  auto objects = (*b)->ListObjects();  // each test starts from an empty pool
  if (objects.ok()) {
    for (const auto& o : *objects) (void)(*b)->DeleteObject(o);
  }
  return std::move(b).value();
}

class RbdEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!HaveCluster() && InCi()) FAIL() << "CI=true but no Ceph cluster (run under tests/with_ceph.sh)";
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new RbdEnvironment);

INSTANTIATE_TEST_SUITE_P(Rbd, BackendConformance,
                         ::testing::Values(Factory{"rbd",
                                                   [](const std::string&) {
                                                     return HaveCluster() ? FreshRbd() : nullptr;
                                                   },
                                                   true}),
                         [](const ::testing::TestParamInfo<Factory>& i) { return std::string(i.param.name); });

class RbdStore : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveCluster()) {
      if (InCi()) FAIL() << "CI=true but no Ceph cluster";
      GTEST_SKIP() << "no Ceph cluster (run under tests/with_ceph.sh)";
    }
    backend_ = FreshRbd();
    ASSERT_NE(backend_, nullptr);
    opt_ = OptionsFromEnv();
    ASSERT_EQ(rados_create(&cluster_, opt_.user.c_str()), 0);
    ASSERT_EQ(rados_conf_read_file(cluster_, opt_.ceph_conf.c_str()), 0);
    ASSERT_EQ(rados_connect(cluster_), 0);
    ASSERT_EQ(rados_ioctx_create(cluster_, opt_.pool.c_str(), &io_), 0);
  }
  void TearDown() override {
    if (io_) rados_ioctx_destroy(io_);
    if (cluster_) rados_shutdown(cluster_);
  }
  std::string Put(const std::string& id, const std::string& data) {
    auto w = backend_->NewWriter(id, "t");
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_OK((*w)->Write(data.data(), data.size()));
    auto loc = (*w)->Commit();
    EXPECT_TRUE(loc.ok()) << loc.status().ToString();
    return loc.ok() ? *loc : "";
  }

  std::unique_ptr<Backend> backend_;
  RbdOptions opt_;
  rados_t cluster_ = nullptr;
  rados_ioctx_t io_ = nullptr;
};

TEST_F(RbdStore, GlanceLayoutImageNamedByIdWithProtectedSnap) {
  std::string id = NewUuid();
  std::string loc = Put(id, std::string(3 << 20, 'g'));
  char fsid[64] = {0};
  int n = rados_cluster_fsid(cluster_, fsid, sizeof fsid);
  ASSERT_GT(n, 0);
  EXPECT_EQ(loc, "rbd://" + std::string(fsid, n) + "/" + opt_.pool + "/" + id + "/snap");
  rbd_image_t image;
  ASSERT_EQ(rbd_open_read_only(io_, id.c_str(), &image, nullptr), 0);
  uint64_t size = 0;
  rbd_get_size(image, &size);
  EXPECT_EQ(size, 3u << 20);
  int is_protected = 0;
  EXPECT_EQ(rbd_snap_is_protected(image, "snap", &is_protected), 0);
  EXPECT_EQ(is_protected, 1);
  uint8_t order = 0;
  rbd_image_info_t info;
  ASSERT_EQ(rbd_stat(image, &info, sizeof info), 0);
  order = static_cast<uint8_t>(info.order);
  EXPECT_EQ(order, 22) << "rbd_store_chunk_size 4 MiB -> object order 22";
  rbd_close(image);
}

TEST_F(RbdStore, CloneBlocksDeleteAndDataStays) {
  std::string id = NewUuid();
  std::string loc = Put(id, std::string(1 << 20, 'c'));
  rbd_image_options_t opts;
  rbd_image_options_create(&opts);
  ASSERT_EQ(rbd_clone3(io_, id.c_str(), "snap", io_, "glint-test-clone", opts), 0);
  rbd_image_options_destroy(opts);
  EXPECT_EQ(backend_->CheckDeletable(loc).code(), Status::Code::kConflict);
  EXPECT_EQ(backend_->Delete(loc).code(), Status::Code::kConflict);
  auto r = backend_->Open(loc);
  ASSERT_TRUE(r.ok()) << "data must stay while a clone uses it";
  EXPECT_EQ((*r)->size(), 1 << 20);
  r = Status::NotFound("");  // close the reader
  ASSERT_EQ(rbd_remove(io_, "glint-test-clone"), 0);
  EXPECT_OK(backend_->CheckDeletable(loc));
  EXPECT_OK(backend_->Delete(loc));
  EXPECT_FALSE(backend_->Open(loc).ok());
}

TEST_F(RbdStore, OpenByAnotherClientBlocksDelete) {
  std::string id = NewUuid();
  std::string loc = Put(id, "data");
  rbd_image_t image;
  ASSERT_EQ(rbd_open(io_, id.c_str(), &image, nullptr), 0);  // a watcher, like a running VM
  EXPECT_EQ(backend_->CheckDeletable(loc).code(), Status::Code::kConflict);
  rbd_close(image);
  EXPECT_OK(backend_->CheckDeletable(loc));
}

TEST_F(RbdStore, ZeroChunksAreNotWritten) {
  std::string id = NewUuid();
  std::string data(32 << 20, '\0');
  data[5 << 20] = 1;
  Put(id, data);
  rbd_image_t image;
  ASSERT_EQ(rbd_open_read_only(io_, id.c_str(), &image, "snap"), 0);
  uint64_t used = 0;
  auto cb = [](uint64_t, size_t len, int exists, void* arg) -> int {
    if (exists) *static_cast<uint64_t*>(arg) += len;
    return 0;
  };
  ASSERT_EQ(rbd_diff_iterate2(image, nullptr, 0, data.size(), 1, 1, cb, &used), 0);
  rbd_close(image);
  EXPECT_LE(used, 4u << 20) << "only the one object with data is allocated";
  auto r = backend_->Open(backend_->LocationFor(id));
  ASSERT_TRUE(r.ok());
  std::string back(data.size(), 'x');
  ASSERT_TRUE((*r)->ReadAt(0, back.data(), back.size()).ok());
  EXPECT_EQ(back, data);
}

}  // namespace
}  // namespace glint::store
