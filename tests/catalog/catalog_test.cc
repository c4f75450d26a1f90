// Catalog behaviour, one suite run against every engine (SQLite, MariaDB): records, the
// upload state machine, recovery, listing filters and keyset paging, schema versions.
#include <algorithm>
#include <ctime>
#include <random>
#include <set>
#include <thread>

#include "catalog/catalog.h"
#include "common/ids.h"
#include "sql/connection_pool.h"
#include "tests/support/scratch_database.h"
#include "tests/support/test_support.h"

namespace glint::catalog {
namespace {

class CatalogTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    url_ = glint::testing::ScratchDatabaseUrl(GetParam(), dir_);
    if (url_.empty()) GTEST_SKIP() << GetParam() << " is not available here";
    if (GetParam() != "sqlite") {  // a server database is synced by glint-manage db-sync
      Status s;
      EXPECT_FALSE(OpenCatalog(url_, &s));
      EXPECT_NE(s.message().find("db-sync"), std::string::npos) << s.ToString();
      ASSERT_TRUE(SyncCatalogSchema(url_).ok());
    }
    Status s;
    catalog_ = OpenCatalog(url_, &s);
    ASSERT_TRUE(catalog_) << s.ToString();
  }
  ImageRecord Make(const std::string& name, int64_t created) {
    ImageRecord r;
    r.id = NewUuid();
    r.name = name;
    r.created_at = r.updated_at = created;
    return r;
  }
  std::vector<std::string> Names(const std::vector<ImageRecord>& v) {
    std::vector<std::string> out;
    for (const auto& r : v) out.push_back(r.name.value_or("<null>"));
    return out;
  }
  ListQuery Admin() {
    ListQuery q;
    q.viewer.is_admin = true;
    return q;
  }

  glint::testing::TempDir dir_;
  std::string url_;
  std::unique_ptr<Catalog> catalog_;
};

TEST_P(CatalogTest, CreateGetAndIdStaysReserved) {
  ImageRecord r = Make("a", 1000);
  r.properties = {{"os_distro", "debian"}};
  r.tags = {"x", "y"};
  ASSERT_OK(catalog_->CreateImage(r));
  auto got = catalog_->GetImage(r.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "a");
  EXPECT_EQ(got->status, "queued");
  EXPECT_EQ(got->properties.at("os_distro"), "debian");
  EXPECT_EQ(got->tags, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(catalog_->CreateImage(r).code(), Status::Code::kConflict);
  ASSERT_TRUE(catalog_->DeleteImage(r.id).ok());
  EXPECT_EQ(catalog_->GetImage(r.id).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(catalog_->CreateImage(r).code(), Status::Code::kConflict);
}

TEST_P(CatalogTest, SurvivesReopen) {
  ImageRecord r = Make("persist", 5);
  ASSERT_OK(catalog_->CreateImage(r));
  catalog_.reset();
  Status s;
  catalog_ = OpenCatalog(url_, &s);
  ASSERT_TRUE(catalog_) << s.ToString();
  EXPECT_TRUE(catalog_->GetImage(r.id).ok());
}

TEST_P(CatalogTest, UpdateDetectsStaleVersion) {
  ImageRecord r = Make("v", 1);
  ASSERT_OK(catalog_->CreateImage(r));
  auto a = *catalog_->GetImage(r.id);
  auto b = a;
  a.name = "first";
  ASSERT_OK(catalog_->UpdateImage(a));
  b.name = "second";
  EXPECT_EQ(catalog_->UpdateImage(b).code(), Status::Code::kConflict);
  EXPECT_EQ(catalog_->GetImage(r.id)->name, "first");
}

TEST_P(CatalogTest, UploadStateMachine) {
  ImageRecord r = Make("u", 1);
  ASSERT_OK(catalog_->CreateImage(r));
  UploadLock lock{r.id, "tok1", "node-a"};
  ASSERT_OK(catalog_->BeginUpload(lock, NowMicros() + 60000000));
  EXPECT_EQ(catalog_->GetImage(r.id)->status, "saving");
  // A second upload loses.
  EXPECT_EQ(catalog_->BeginUpload({r.id, "tok2", "node-b"}, NowMicros() + 60000000).code(),
            Status::Code::kConflict);
  ImageRecord facts;
  facts.size = 10;
  facts.checksum = "abc";
  facts.os_hash_algo = "sha512";
  facts.os_hash_value = "def";
  // The wrong token cannot complete.
  EXPECT_EQ(catalog_->CompleteUpload({r.id, "tok2", "node-b"}, facts, {"file:///x", "{}", "file"}, nullptr).code(),
            Status::Code::kConflict);
  ASSERT_OK(catalog_->CompleteUpload(lock, facts, {"file:///x", "{}", "file"}, nullptr));
  auto img = *catalog_->GetImage(r.id);
  EXPECT_EQ(img.status, "active");
  EXPECT_EQ(img.size, 10);
  ASSERT_EQ(img.locations.size(), 1u);
  EXPECT_EQ(img.locations[0].url, "file:///x");
  EXPECT_EQ(catalog_->BeginUpload({r.id, "tok3", "n"}, NowMicros() + 1).code(), Status::Code::kConflict);
}

TEST_P(CatalogTest, ConcurrentBeginUploadHasOneWinner) {
  ImageRecord r = Make("race", 1);
  ASSERT_OK(catalog_->CreateImage(r));
  std::atomic<int> wins{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Status s = catalog_->BeginUpload({r.id, "t" + std::to_string(i), "n"}, NowMicros() + 1000000);
      (s.ok() ? wins : conflicts)++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins, 1);
  EXPECT_EQ(conflicts, 7);
}

TEST_P(CatalogTest, AbortAndRecoveryReturnToQueued) {
  ImageRecord a = Make("a", 1), b = Make("b", 2), c = Make("c", 3);
  for (auto* r : {&a, &b, &c}) ASSERT_OK(catalog_->CreateImage(*r));
  ASSERT_OK(catalog_->BeginUpload({a.id, "ta", "me"}, NowMicros() + 60000000));
  ASSERT_OK(catalog_->AbortUpload({a.id, "ta", "me"}));
  EXPECT_EQ(catalog_->GetImage(a.id)->status, "queued");
  // b: held by this node (which restarted); c: another node, still live.
  ASSERT_OK(catalog_->BeginUpload({b.id, "tb", "me"}, NowMicros() + 60000000));
  ASSERT_OK(catalog_->BeginUpload({c.id, "tc", "other"}, NowMicros() + 60000000));
  auto released = catalog_->RecoverUploads("me", NowMicros());
  ASSERT_TRUE(released.ok());
  ASSERT_EQ(released->size(), 1u);
  EXPECT_EQ((*released)[0].token, "tb");
  EXPECT_EQ(catalog_->GetImage(b.id)->status, "queued");
  EXPECT_EQ(catalog_->GetImage(c.id)->status, "saving");
  auto live = catalog_->LiveUploads();
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  // Once the other node's lock expires, anyone recovers it.
  released = catalog_->RecoverUploads("", NowMicros() + 120000000);
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(released->size(), 1u);
  EXPECT_EQ(catalog_->GetImage(c.id)->status, "queued");
}

// Recovery of a dead node's import (image lock) and copy (task lock): the tasks fail and
// their ids leave the images' os_glance_import_task; another task's id is left alone.
TEST_P(CatalogTest, RecoveryDropsTheImportTaskProperty) {
  ImageRecord imp = Make("imp", 1), copy = Make("copy", 2), other = Make("other", 3);
  copy.status = "active";
  for (auto* r : {&imp, &copy, &other}) ASSERT_OK(catalog_->CreateImage(*r));
  UploadLock stage{imp.id, "ts", "me"}, lock{imp.id, "ti", "me"};
  ASSERT_OK(catalog_->BeginStage(stage, NowMicros() + 60000000));
  ASSERT_OK(catalog_->FinishStage(stage, 10));
  ASSERT_OK(catalog_->BeginImport(lock, NowMicros() + 60000000));
  auto task = [&](const std::string& image_id, std::optional<std::string> node) {
    TaskRecord t;
    t.id = NewUuid();
    t.image_id = image_id;
    t.status = "processing";
    t.created_at = t.updated_at = NowMicros();
    if (node) {
      t.lock_token = NewUuid();
      t.lock_node = node;
      t.lock_expires = NowMicros() + 60000000;
    }
    EXPECT_OK(catalog_->CreateTask(t));
    auto img = catalog_->GetImage(image_id);
    img->properties["os_glance_import_task"] = t.id;
    EXPECT_OK(catalog_->UpdateImage(*img));
    return t.id;
  };
  const std::string import_task = task(imp.id, std::nullopt), copy_task = task(copy.id, "me");
  const std::string live_task = task(other.id, "elsewhere");
  auto released = catalog_->RecoverUploads("me", NowMicros());
  ASSERT_TRUE(released.ok());
  auto after = catalog_->GetImage(imp.id);
  EXPECT_EQ(after->status, "uploading");
  EXPECT_EQ(after->properties.count("os_glance_import_task"), 0u);
  EXPECT_EQ(catalog_->GetTask(import_task)->status, "failure");
  EXPECT_EQ(catalog_->GetImage(copy.id)->properties.count("os_glance_import_task"), 0u);
  EXPECT_EQ(catalog_->GetTask(copy_task)->status, "failure");
  EXPECT_EQ(catalog_->GetImage(other.id)->properties.at("os_glance_import_task"), live_task);
  EXPECT_EQ(catalog_->GetTask(live_task)->status, "processing");
}

TEST_P(CatalogTest, DeleteKeepsLocationsPendingUntilForgotten) {
  ImageRecord r = Make("d", 1);
  ASSERT_OK(catalog_->CreateImage(r));
  UploadLock lock{r.id, "t", "n"};
  ASSERT_OK(catalog_->BeginUpload(lock, NowMicros() + 60000000));
  ImageRecord facts;
  facts.size = 1;
  ASSERT_OK(catalog_->CompleteUpload(lock, facts, {"file:///d", "{}", "file"}, nullptr));
  auto before = catalog_->DeleteImage(r.id);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->locations.size(), 1u);
  auto pending = catalog_->PendingDeletes();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].locations[0].url, "file:///d");
  ASSERT_OK(catalog_->ForgetLocations(r.id));
  EXPECT_TRUE(catalog_->PendingDeletes()->empty());
}

TEST_P(CatalogTest, ListSortsAndPagesWithMarker) {
  std::vector<std::string> expect;
  for (int i = 0; i < 30; ++i) {
    // Equal timestamps in pairs to exercise the id tie-break.
    ImageRecord r = Make("img" + std::to_string(i % 7), 1000 + i / 2);
    ASSERT_OK(catalog_->CreateImage(r));
  }
  for (auto sort : std::vector<std::vector<SortKey>>{
           {}, {{"name", true}}, {{"name", false}, {"created_at", true}}, {{"size", true}}}) {
    ListQuery all = Admin();
    all.sort = sort;
    all.limit = 1000;
    auto full = catalog_->ListImages(all);
    ASSERT_TRUE(full.ok());
    ASSERT_EQ(full->size(), 30u);
    std::vector<std::string> paged;
    ListQuery q = Admin();
    q.sort = sort;
    q.limit = 4;
    for (int guard = 0; guard < 20; ++guard) {
      auto page = catalog_->ListImages(q);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      for (const auto& r : *page) paged.push_back(r.id);
      if (static_cast<int>(page->size()) < q.limit) break;
      q.marker = page->back().id;
    }
    std::vector<std::string> ids;
    for (const auto& r : *full) ids.push_back(r.id);
    EXPECT_EQ(paged, ids);
  }
  ListQuery by_name = Admin();
  by_name.sort = {{"name", true}};
  by_name.limit = 3;
  auto page = catalog_->ListImages(by_name);
  EXPECT_EQ(Names(*page), (std::vector<std::string>{"img0", "img0", "img0"}));
  ListQuery bad = Admin();
  bad.marker = NewUuid();
  EXPECT_EQ(catalog_->ListImages(bad).status().code(), Status::Code::kInvalidArgument);
}

TEST_P(CatalogTest, ListFilters) {
  ImageRecord a = Make("alpha", 1), b = Make("beta", 2), c = Make("gamma", 3), h = Make("hidden", 4);
  a.tags = {"t1", "t2"};
  b.tags = {"t1"};
  a.properties = {{"os_distro", "debian"}};
  c.visibility = "community";
  c.owner = "p2";
  h.os_hidden = true;
  b.disk_format = "qcow2";
  for (auto* r : {&a, &b, &c, &h}) ASSERT_OK(catalog_->CreateImage(*r));
  auto names = [&](ListQuery q) {
    auto r = catalog_->ListImages(q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    auto n = Names(*r);
    std::sort(n.begin(), n.end());
    return n;
  };
  using V = std::vector<std::string>;
  ListQuery q = Admin();
  EXPECT_EQ(names(q), (V{"alpha", "beta"})) << "community of others and hidden are left out";
  q.visibility = "all";
  EXPECT_EQ(names(q), (V{"alpha", "beta", "gamma"}));
  q = Admin();
  q.os_hidden = true;
  EXPECT_EQ(names(q), (V{"hidden"}));
  q = Admin();
  q.tags = {"t1", "t2"};
  EXPECT_EQ(names(q), (V{"alpha"}));
  q = Admin();
  q.properties = {{"os_distro", "debian"}};
  EXPECT_EQ(names(q), (V{"alpha"}));
  q = Admin();
  q.filters = {{"name", Filter::Op::kIn, {"alpha", "gamma", "beta"}}};
  EXPECT_EQ(names(q), (V{"alpha", "beta"}));
  q = Admin();
  q.filters = {{"disk_format", Filter::Op::kEq, {"qcow2"}}};
  EXPECT_EQ(names(q), (V{"beta"}));
  q = Admin();
  q.filters = {{"created_at", Filter::Op::kGt, {FormatIsoSeconds(0)}}};
  EXPECT_EQ(names(q).size(), 2u);
  q = Admin();
  q.filters = {{"no_such_column; DROP TABLE images", Filter::Op::kEq, {"x"}}};
  EXPECT_FALSE(catalog_->ListImages(q).ok());
  // A project sees its own, public and community images, not others' shared/private ones.
  ListQuery p;
  p.viewer.project_id = "p2";
  p.visibility = "all";
  EXPECT_EQ(names(p), (V{"gamma"}));
}

// Each page size gives new child-loading SQL (one IN placeholder per image on the page)
// and each filter combination a new page query: far more distinct statements than one
// connection caches, many of them prepared while the page query is still in use.
TEST_P(CatalogTest, ManyDistinctListQueriesKeepAnsweringCorrectly) {
  constexpr int kImages = 200;
  for (int i = 0; i < kImages; ++i) {
    ImageRecord r = Make("img" + std::to_string(i), 1000 + i);
    r.tags = {"t" + std::to_string(i % 3)};
    r.properties = {{"n", std::to_string(i)}};
    ASSERT_OK(catalog_->CreateImage(r));
  }
  for (int limit = 1; limit <= kImages; ++limit) {
    ListQuery q = Admin();
    q.limit = limit;
    auto page = catalog_->ListImages(q);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    ASSERT_EQ(static_cast<int>(page->size()), limit);
    for (const auto& r : *page) {
      int n = std::stoi(r.properties.at("n"));
      EXPECT_EQ(r.name, "img" + std::to_string(n));
      EXPECT_EQ(r.tags, (std::vector<std::string>{"t" + std::to_string(n % 3)}));
    }
  }
  for (int k = 1; k <= 100; ++k) {
    Filter names{"name", Filter::Op::kIn, {}};
    for (int i = 0; i < k; ++i) names.values.push_back("img" + std::to_string(i));
    for (int variant = 0; variant < 3; ++variant) {
      ListQuery q = Admin();
      q.filters = {names};
      q.limit = k;
      if (variant == 1) q.tags = {"t0"};
      if (variant == 2) q.sort = {{"name", true}};
      auto page = catalog_->ListImages(q);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      size_t expected = variant == 1 ? static_cast<size_t>((k + 2) / 3) : static_cast<size_t>(k);
      ASSERT_EQ(page->size(), expected) << "k=" << k << " variant=" << variant;
      for (const auto& r : *page) EXPECT_EQ(r.tags.size(), 1u);
    }
  }
}

// A tag or property filter that most images match is planned differently from a rare one
// on MariaDB (a probe of each image while walking the sort order's index, from 2,000
// matches for a default page); either way the pages are the same images in the same order.
TEST_P(CatalogTest, DenseAndRareFiltersPageAlike) {
  constexpr int kImages = 2100;
  for (int i = 0; i < kImages; ++i) {
    ImageRecord r = Make("img" + std::to_string((i * 7919) % 10007), 1000 + i / 3);  // equal times too
    r.tags = {"every"};
    r.properties = {{"kind", i % 500 == 7 ? "rare" : "common"}, {"all", "yes"}};
    if (i < 30) r.visibility = "public";  // the oldest: last in the default order
    ASSERT_OK(catalog_->CreateImage(r));
  }
  auto walk = [&](ListQuery q) {  // every page after the first by marker
    std::vector<std::string> ids;
    for (;;) {
      auto page = catalog_->ListImages(q);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok() || page->empty()) return ids;
      for (const auto& r : *page) ids.push_back(r.id);
      q.marker = page->back().id;
    }
  };
  for (bool by_name : {false, true}) {
    ListQuery plain = Admin();
    plain.limit = 25;
    if (by_name) plain.sort = {{"name", true}};
    std::vector<std::string> all = walk(plain);
    ASSERT_EQ(all.size(), static_cast<size_t>(kImages));
    ListQuery dense = plain;
    dense.tags = {"every"};
    dense.properties = {{"all", "yes"}};
    EXPECT_EQ(walk(dense), all) << "by_name=" << by_name;
    ListQuery rare = plain;
    rare.properties = {{"kind", "rare"}, {"all", "yes"}};
    auto got = walk(rare);
    ASSERT_EQ(got.size(), static_cast<size_t>(kImages / 500 + 1));
    std::vector<std::string> expected;
    for (const auto& id : all) {
      if (std::find(got.begin(), got.end(), id) != got.end()) expected.push_back(id);
    }
    EXPECT_EQ(got, expected) << "in the same order as the unfiltered list";
    ListQuery none = dense;
    none.properties = {{"all", "no"}};
    EXPECT_TRUE(walk(none).empty());
    // Dense filters whose matches a viewer can mostly not see (on MariaDB a bounded walk
    // finds too few, and the semi-joins answer): only the 30 public images, in order.
    ListQuery stranger = dense;
    stranger.viewer = Viewer{};
    stranger.viewer.project_id = "p-stranger";
    auto seen = walk(stranger);
    ASSERT_EQ(seen.size(), 30u) << "by_name=" << by_name;
    std::vector<std::string> in_order;
    for (const auto& id : all) {
      if (std::find(seen.begin(), seen.end(), id) != seen.end()) in_order.push_back(id);
    }
    EXPECT_EQ(seen, in_order);
  }
}

TEST(Ids, IsoFormattingAgreesWithGmtime) {
  std::mt19937_64 rng(11);
  std::vector<int64_t> secs = {0, 59, 86399, 86400, 951782400 /* 2000-02-29 */, 4107542400 /* 2100-03-01 */,
                               -1, -86401, 1700000000};
  for (int i = 0; i < 20000; ++i) secs.push_back(static_cast<int64_t>(rng() % 8000000000ULL) - 1000000000);
  for (int64_t s : secs) {
    time_t t = static_cast<time_t>(s);
    struct tm tm;
    gmtime_r(&t, &tm);
    char want[32];
    std::strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
    ASSERT_EQ(FormatIsoSeconds(s * 1000000 + 123456), want) << s;
  }
}

TEST(Ids, IsoRoundTripAndUuid) {
  auto t = ParseIso("2026-01-02T03:04:05Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatIsoSeconds(*t), "2026-01-02T03:04:05Z");
  EXPECT_EQ(ParseIso("2026-01-02T03:04:05.5+01:00").value(), *t - 3600 * 1000000LL + 500000);
  EXPECT_FALSE(ParseIso("yesterday"));
  EXPECT_TRUE(IsUuid(NewUuid()));
  EXPECT_FALSE(IsUuid("../../../../etc/passwd-000000000000"));
}

TEST_P(CatalogTest, SchemaVersionIsCurrentAndANewerOneIsRefused) {
  auto v = CatalogSchemaVersion(url_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, LatestCatalogSchemaVersion());
  EXPECT_EQ(*SyncCatalogSchema(url_), LatestCatalogSchemaVersion());  // idempotent
  catalog_.reset();
  auto spec = sql::ParseConnectionUrl(url_);
  ASSERT_TRUE(spec.ok());
  sql::ConnectionPool pool(*spec, 1);
  auto db = pool.Acquire();
  ASSERT_TRUE(db.ok());
  ASSERT_OK((*db)->Exec("INSERT INTO glint_schema (version) VALUES (" +
                        std::to_string(LatestCatalogSchemaVersion() + 1) + ")"));
  Status s;
  EXPECT_FALSE(OpenCatalog(url_, &s));
  EXPECT_NE(s.message().find("newer than this Glint"), std::string::npos) << s.ToString();
  EXPECT_FALSE(SyncCatalogSchema(url_).ok());
}

// Chunk manifests: written with the activation, read back whole, immutable, bound to the
// image's facts on backfill, gone with the image.
TEST_P(CatalogTest, ManifestLifecycle) {
  ImageRecord r = Make("m", 1), old = Make("old", 2);
  ASSERT_OK(catalog_->CreateImage(r));
  ASSERT_OK(catalog_->CreateImage(old));
  UploadLock lock{r.id, "t", "n"};
  ASSERT_OK(catalog_->BeginUpload(lock, NowMicros() + 60000000));
  std::string data(10 * 1000 + 7, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  ChunkManifestBuilder b(1000);
  b.Update(data.data(), data.size());
  ChunkManifest m = b.Finish(r.id, "sha512", "feed");
  ASSERT_EQ(m.chunks.size(), 11u);
  ImageRecord facts;
  facts.size = m.size;
  facts.os_hash_algo = "sha512";
  facts.os_hash_value = "feed";
  EXPECT_EQ(catalog_->GetManifest(r.id).status().code(), Status::Code::kNotFound);
  ASSERT_OK(catalog_->CompleteUpload(lock, facts, {"file:///m", "{}", "file"}, &m));
  auto got = catalog_->GetManifest(r.id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->chunks, m.chunks);
  EXPECT_EQ(got->binding, m.binding);
  EXPECT_EQ(got->size, m.size);
  EXPECT_EQ(got->chunk_size, 1000);
  EXPECT_EQ(got->os_hash_value, "feed");
  EXPECT_TRUE(ManifestConsistent(*got));
  // Immutable: a second manifest for the image is refused.
  EXPECT_EQ(catalog_->AddManifest(m).code(), Status::Code::kConflict);

  // Backfill: only for an active image, only with its facts.
  auto pending = catalog_->ImagesWithoutManifest(10);
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
  ChunkManifest om = ChunkManifestBuilder(1000).Finish(old.id, "sha512", "");
  EXPECT_EQ(catalog_->AddManifest(om).code(), Status::Code::kNotFound);  // queued, no data
  UploadLock ol{old.id, "t2", "n"};
  ASSERT_OK(catalog_->BeginUpload(ol, NowMicros() + 60000000));
  ImageRecord ofacts;
  ofacts.size = 0;
  ofacts.os_hash_algo = "sha512";
  ofacts.os_hash_value = "cafe";
  ASSERT_OK(catalog_->CompleteUpload(ol, ofacts, {"file:///o", "{}", "file"}, nullptr));
  pending = catalog_->ImagesWithoutManifest(10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].id, old.id);
  EXPECT_EQ(catalog_->AddManifest(om).code(), Status::Code::kConflict);  // wrong os_hash_value
  om = ChunkManifestBuilder(1000).Finish(old.id, "sha512", "cafe");
  ASSERT_OK(catalog_->AddManifest(om));
  EXPECT_TRUE(catalog_->GetManifest(old.id)->chunks.empty());
  EXPECT_TRUE(catalog_->ImagesWithoutManifest(10)->empty());

  ASSERT_TRUE(catalog_->DeleteImage(r.id).ok());
  EXPECT_EQ(catalog_->GetManifest(r.id).status().code(), Status::Code::kNotFound);
}

// Learned boot sets (schema step 7): one row per (image, reporter, host), replaced by the
// host's next report, rate-limited, bounded per reporter and per image, gone with the image.
TEST_P(CatalogTest, BootReports) {
  ImageRecord r = Make("boots", 1);
  ASSERT_OK(catalog_->CreateImage(r));
  const int64_t t0 = 1000000000;
  BootReportLimits limits;
  limits.min_interval = 60000000;
  limits.max_hosts_per_reporter = 3;
  limits.max_reports_per_image = 5;
  ASSERT_OK(catalog_->PutBootReport({r.id, "user:a", "h1", {0, 2, 9}, t0}, limits));
  ASSERT_OK(catalog_->PutBootReport({r.id, "user:b", "h1", {}, t0}, limits));
  auto got = catalog_->ListBootReports(r.id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].reporter, "user:a");
  EXPECT_EQ((*got)[0].chunks, (std::vector<int64_t>{0, 2, 9}));
  EXPECT_TRUE((*got)[1].chunks.empty());
  // Too soon for the same host; a minute later its report replaces the old one.
  Status soon = catalog_->PutBootReport({r.id, "user:a", "h1", {1}, t0 + 1000000}, limits);
  EXPECT_EQ(soon.code(), Status::Code::kTooManyRequests);
  EXPECT_EQ(soon.retry_after(), 59);  // seconds until the minute is over
  EXPECT_EQ(catalog_->PutBootReport({r.id, "user:a", "h1", {1}, t0 + 59500000}, limits).retry_after(), 1);
  ASSERT_OK(catalog_->PutBootReport({r.id, "user:a", "h1", {1, 3}, t0 + 60000000}, limits));
  got = catalog_->ListBootReports(r.id);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].chunks, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ((*got)[0].reported_at, t0 + 60000000);
  // A reporter keeps its newest 3 hosts; the image its newest 5 reports.
  for (int h = 2; h <= 5; ++h) {
    ASSERT_OK(catalog_->PutBootReport({r.id, "user:a", "h" + std::to_string(h), {0}, t0 + h * 100000000}, limits));
  }
  got = catalog_->ListBootReports(r.id);
  std::vector<std::string> hosts;
  for (const auto& b : *got) hosts.push_back(b.reporter + "/" + b.host);
  EXPECT_EQ(hosts, (std::vector<std::string>{"user:a/h3", "user:a/h4", "user:a/h5", "user:b/h1"}));
  for (int p = 0; p < 3; ++p) {
    ASSERT_OK(catalog_->PutBootReport({r.id, "user:p" + std::to_string(p), "h", {0}, t0 + 1000000000 + p}, limits));
  }
  got = catalog_->ListBootReports(r.id);
  hosts.clear();
  for (const auto& b : *got) hosts.push_back(b.reporter + "/" + b.host);
  EXPECT_EQ(hosts, (std::vector<std::string>{"user:a/h4", "user:a/h5", "user:p0/h", "user:p1/h", "user:p2/h"}));
  // A large report round-trips whole.
  std::vector<int64_t> many;
  for (int64_t i = 0; i < 4096; ++i) many.push_back(i * 61);
  ASSERT_OK(catalog_->PutBootReport({r.id, "user:big", "h", many, t0 + 2000000000}, limits));
  got = catalog_->ListBootReports(r.id);
  bool found = false;
  for (const auto& b : *got) found = found || (b.reporter == "user:big" && b.chunks == many);
  EXPECT_TRUE(found);
  ASSERT_TRUE(catalog_->DeleteImage(r.id).ok());
  EXPECT_TRUE(catalog_->ListBootReports(r.id)->empty());
}

INSTANTIATE_TEST_SUITE_P(Engines, CatalogTest, ::testing::Values("sqlite", "mariadb"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace glint::catalog
