// The store::Backend conformance suite: every backend must pass it. Instantiated for
// memory and file in store_test.cc and for rbd (on a real cluster) in rbd_store_test.cc.
#pragma once

#include <cstdlib>
#include <functional>
#include <random>

#include "common/ids.h"
#include "store/backend.h"
#include "tests/support/test_support.h"

namespace glint::store {

struct Factory {
  const char* name;
  std::function<std::unique_ptr<Backend>(const std::string& dir)> make;
  bool needs_cluster = false;  // may be absent on a laptop (never in CI)
};

void PrintTo(const Factory& f, std::ostream* os) { *os << f.name; }

class BackendConformance : public ::testing::TestWithParam<Factory> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make(dir_.path());
    if (!backend_) {
      const char* ci = std::getenv("CI");
      bool in_ci = ci && (std::string(ci) == "true" || std::string(ci) == "1");
      if (GetParam().needs_cluster && !in_ci) GTEST_SKIP() << GetParam().name << " is not available here";
      FAIL() << "cannot create the " << GetParam().name << " backend";
    }
  }
  std::string Random(size_t n, unsigned seed = 1) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  }
  std::string ReadAll(const std::string& location) {
    auto r = backend_->Open(location);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return "";
    std::string out(static_cast<size_t>((*r)->size()), '\0');
    auto n = (*r)->ReadAt(0, out.data(), out.size());
    EXPECT_TRUE(n.ok());
    return out;
  }
  std::string Put(const std::string& id, const std::string& data) {
    auto w = backend_->NewWriter(id, "tok");
    EXPECT_TRUE(w.ok());
    for (size_t off = 0; off < data.size(); off += 100000) {
      EXPECT_OK((*w)->Write(data.data() + off, std::min<size_t>(100000, data.size() - off)));
    }
    auto loc = (*w)->Commit();
    EXPECT_TRUE(loc.ok()) << loc.status().ToString();
    return loc.ok() ? *loc : "";
  }

  glint::testing::TempDir dir_;
  std::unique_ptr<Backend> backend_;
};

TEST_P(BackendConformance, WriteCommitReadBack) {
  std::string id = NewUuid();
  std::string data = Random(1234567);
  std::string loc = Put(id, data);
  EXPECT_EQ(loc, backend_->LocationFor(id));
  EXPECT_TRUE(backend_->OwnsLocation(loc));
  EXPECT_EQ(ReadAll(loc), data);
}

TEST_P(BackendConformance, RandomReadsMatch) {
  std::string id = NewUuid();
  std::string data = Random(3 << 20, 7);
  std::string loc = Put(id, data);
  auto r = backend_->Open(loc);
  ASSERT_TRUE(r.ok());
  std::mt19937 rng(3);
  for (int i = 0; i < 200; ++i) {
    size_t off = rng() % data.size();
    size_t len = rng() % 70000;
    std::string buf(len, '\0');
    auto n = (*r)->ReadAt(static_cast<int64_t>(off), buf.data(), len);
    ASSERT_TRUE(n.ok());
    size_t expect = std::min(len, data.size() - off);
    ASSERT_EQ(*n, expect);
    ASSERT_EQ(buf.substr(0, expect), data.substr(off, expect));
  }
}

TEST_P(BackendConformance, ZerosAndEmptyImagesRoundTrip) {
  std::string zeros(5 << 20, '\0');
  zeros[3 << 20] = 'x';  // data in the middle, zeros (holes) around it, zero tail
  std::string loc = Put(NewUuid(), zeros);
  EXPECT_EQ(ReadAll(loc), zeros);
  std::string empty_loc = Put(NewUuid(), "");
  EXPECT_EQ(ReadAll(empty_loc), "");
}

TEST_P(BackendConformance, AbortLeavesNothing) {
  std::string id = NewUuid();
  {
    auto w = backend_->NewWriter(id, "t1");
    ASSERT_TRUE(w.ok());
    ASSERT_OK((*w)->Write("abc", 3));
    auto objs = backend_->ListObjects();
    ASSERT_TRUE(objs.ok());
    ASSERT_EQ(objs->size(), 1u);
    EXPECT_EQ((*objs)[0].upload_token, "t1");
    EXPECT_EQ((*objs)[0].image_id, id);
    (*w)->Abort();
  }
  auto objs = backend_->ListObjects();
  ASSERT_TRUE(objs.ok());
  EXPECT_TRUE(objs->empty());
  EXPECT_FALSE(backend_->Open(backend_->LocationFor(id)).ok());
}

TEST_P(BackendConformance, DestroyedWriterIsAborted) {
  { auto w = backend_->NewWriter(NewUuid(), "t2"); ASSERT_TRUE(w.ok()); }
  auto objs = backend_->ListObjects();
  ASSERT_TRUE(objs.ok());
  EXPECT_TRUE(objs->empty());
}

TEST_P(BackendConformance, DeleteIsIdempotent) {
  std::string loc = Put(NewUuid(), "data");
  ASSERT_OK(backend_->Delete(loc));
  EXPECT_FALSE(backend_->Open(loc).ok());
  EXPECT_OK(backend_->Delete(loc));
}

TEST_P(BackendConformance, RejectsForeignAndTraversalLocations) {
  EXPECT_FALSE(backend_->NewWriter("../../etc/passwd", "t").ok());
  EXPECT_FALSE(backend_->Open("file:///etc/passwd").ok());
  EXPECT_FALSE(backend_->OwnsLocation("rbd://fsid/images/x/snap"));
  EXPECT_FALSE(backend_->Delete(backend_->LocationFor("..%2f..%2fetc")).ok());
}

TEST_P(BackendConformance, ListsCommittedAndPartialObjects) {
  std::string a = NewUuid(), b = NewUuid();
  Put(a, "x");
  auto w = backend_->NewWriter(b, "tok-b");
  ASSERT_TRUE(w.ok());
  auto objs = backend_->ListObjects();
  ASSERT_TRUE(objs.ok());
  ASSERT_EQ(objs->size(), 2u);
  int partial = 0;
  for (const auto& o : *objs) {
    if (!o.upload_token.empty()) {
      ++partial;
      EXPECT_EQ(o.image_id, b);
      EXPECT_EQ(o.upload_token, "tok-b");
    } else {
      EXPECT_EQ(o.image_id, a);
    }
  }
  (*w)->Abort();
  objs = backend_->ListObjects();
  ASSERT_TRUE(objs.ok());
  ASSERT_EQ(objs->size(), 1u);
  ASSERT_OK(backend_->DeleteObject((*objs)[0]));
  objs = backend_->ListObjects();
  ASSERT_TRUE(objs.ok());
  EXPECT_TRUE(objs->empty());
  EXPECT_EQ(partial, 1);
}

}  // namespace glint::store
