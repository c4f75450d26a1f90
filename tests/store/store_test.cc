// The backend conformance suite on the stores that need nothing external (memory, file),
// plus file-store specifics. rbd runs the same suite in rbd_store_test.cc.
#include <sys/stat.h>
#include <unistd.h>

#include <random>

#include "tests/store/backend_conformance.h"

namespace glint::store {
namespace {

INSTANTIATE_TEST_SUITE_P(
    Backends, BackendConformance,
    ::testing::Values(Factory{"memory", [](const std::string&) { return NewMemoryBackend(); }},
                      Factory{"file",
                              [](const std::string& dir) {
                                auto b = NewFileBackend("file", dir + "/images");
                                return b.ok() ? std::move(b).value() : nullptr;
                              }}),
    [](const ::testing::TestParamInfo<Factory>& info) { return std::string(info.param.name); });

TEST(FileBackend, SparseInputStaysSparse) {
  glint::testing::TempDir dir;
  auto b = NewFileBackend("file", dir.path());
  ASSERT_TRUE(b.ok());
  std::string id = NewUuid();
  auto w = (*b)->NewWriter(id, "t");
  ASSERT_TRUE(w.ok());
  std::string zeros(1 << 20, '\0');
  for (int i = 0; i < 64; ++i) ASSERT_OK((*w)->Write(zeros.data(), zeros.size()));
  ASSERT_OK((*w)->Write("end", 3));
  auto loc = (*w)->Commit();
  ASSERT_TRUE(loc.ok());
  struct stat st;
  ASSERT_EQ(::stat((dir.path() + "/" + id).c_str(), &st), 0);
  EXPECT_EQ(st.st_size, (64 << 20) + 3);
  EXPECT_LT(st.st_blocks * 512, 1 << 20) << "64 MiB of zeros should be a hole";
}

}  // namespace
}  // namespace glint::store
