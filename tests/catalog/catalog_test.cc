// Catalog behaviour, one suite run against every engine (SQLite, MariaDB): records, the
// upload state machine, recovery, schema versions, manifests, boot reports. Listing is in
// catalog_list_test.cc.
#include <algorithm>
#include <ctime>
#include <random>
#include <set>
#include <thread>

#include "catalog/catalog.h"
#include "common/ids.h"
#include "sql/connection_pool.h"
#include "tests/catalog/catalog_fixture.h"

namespace glint::catalog {
namespace {

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

// Schema v9: on SQLite the viewer's scope columns are in the indexes a listing reads images
// through, so an image the viewer may not see is ruled out without reading its row.
// MariaDB keeps its indexes (its nodes force ix_images_created by name).
TEST_P(CatalogTest, ListIndexesCarryTheScopeColumnsOnSqlite) {
  auto spec = sql::ParseConnectionUrl(url_);
  ASSERT_TRUE(spec.ok());
  sql::ConnectionPool pool(*spec, 1);
  auto db = pool.Acquire();
  ASSERT_TRUE(db.ok());
  const bool sqlite = GetParam() == "sqlite";
  auto columns = [&](const std::string& index) {
    std::string out;
    auto st = (*db)->Prepare(sqlite ? "SELECT name FROM pragma_index_info(?) ORDER BY seqno"
                                    : "SELECT column_name FROM information_schema.statistics WHERE table_schema = "
                                      "DATABASE() AND table_name = 'images' AND index_name = ? ORDER BY seq_in_index");
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    if (!st.ok()) return out;
    st->Bind(1, sql::SqlValue(index));
    for (auto row = st->Step(); row.ok() && *row; row = st->Step()) out += (out.empty() ? "" : ",") + st->Text(0);
    return out;
  };
  if (sqlite) {
    EXPECT_EQ(columns("ix_images_created"), "deleted,created_at,id,visibility,owner,os_hidden");
    EXPECT_EQ(columns("ix_images_id_scope"), "id,deleted,visibility,owner,os_hidden,created_at");
    EXPECT_EQ(columns("ix_images_name_order"), "deleted,name,created_at,id,visibility,owner,os_hidden");
  } else {
    EXPECT_EQ(columns("ix_images_created"), "deleted,created_at,id");
    EXPECT_EQ(columns("ix_images_name_order"), "deleted,name,created_at,id");
    EXPECT_EQ(columns("ix_images_id_scope"), "");
  }
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
