// Listing, run against every engine (SQLite, MariaDB): sort orders and keyset paging,
// filters, and the plans a page may take (a walk of the sort order, a page driven by its
// rarest filter, the engine's semi-joins) giving the same images in the same order.
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "tests/catalog/catalog_fixture.h"

namespace glint::catalog {
namespace {

class CatalogListTest : public CatalogTest {};

TEST_P(CatalogListTest, ListSortsAndPagesWithMarker) {
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

TEST_P(CatalogListTest, ListFilters) {
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
TEST_P(CatalogListTest, ManyDistinctListQueriesKeepAnsweringCorrectly) {
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
TEST_P(CatalogListTest, DenseAndRareFiltersPageAlike) {
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

// A filter with few matches drives its page (its matches read by id, then checked and
// sorted): every other condition still holds there, as on every other plan. Walked page
// by page with markers, for a member and the admin, in three sort orders (one with no
// index, one on a column with NULLs and ties), each page must be the unfiltered listing's
// matching images in the same order.
TEST_P(CatalogListTest, AFilterDrivingThePageKeepsEveryOtherCondition) {
  struct Facts {
    bool rare = false;
    std::string kind;
  };
  std::map<std::string, Facts> facts;
  for (int i = 0; i < 400; ++i) {
    ImageRecord r = Make(i % 11 == 0 ? std::string() : "n" + std::to_string((i * 37) % 50), 5000 + i / 4);
    if (i % 11 == 0) r.name.reset();
    r.owner = i % 2 ? "p1" : "p2";
    r.visibility = i % 5 == 0 ? "public" : (i % 5 == 1 ? "shared" : "private");
    if (i % 13 != 0) r.size = (i * 7) % 90;
    Facts f{i % 7 == 3, i % 3 == 0 ? "a" : "b"};
    if (f.rare) r.tags = {"rare", "t" + std::to_string(i % 4)};
    r.properties = {{"kind", f.kind}, {"n", std::to_string(i)}};
    ASSERT_OK(catalog_->CreateImage(r));
    if (r.visibility == "shared" && i % 4 == 1) {
      ImageMember m{r.id, "p2", "accepted", 1, 1};
      ASSERT_OK(catalog_->AddMember(m));
    }
    facts[r.id] = f;
  }
  auto walk = [&](ListQuery q) {
    std::vector<std::string> ids;
    for (int pages = 0; pages < 200; ++pages) {
      auto page = catalog_->ListImages(q);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok() || page->empty()) break;
      for (const auto& r : *page) ids.push_back(r.id);
      q.marker = page->back().id;
    }
    return ids;
  };
  ListQuery member;
  member.viewer.project_id = "p2";
  for (const ListQuery& viewer : {Admin(), member}) {
    for (const std::vector<SortKey>& sort : std::vector<std::vector<SortKey>>{
             {}, {{"size", true}}, {{"name", false}, {"created_at", true}}}) {
      ListQuery plain = viewer;
      plain.limit = 7;
      plain.sort = sort;
      const auto all = walk(plain);
      ASSERT_GT(all.size(), 100u);
      std::vector<std::string> expected;
      for (const auto& id : all) {
        if (facts[id].rare && facts[id].kind == "a") expected.push_back(id);
      }
      ASSERT_GT(expected.size(), 7u) << "more than a page";
      for (int limit : {7, 1000}) {  // thresholds grow with the page size
        ListQuery rare = plain;
        rare.limit = limit;
        rare.tags = {"rare"};
        rare.properties = {{"kind", "a"}};
        EXPECT_EQ(walk(rare), expected) << viewer.viewer.is_admin << " " << sort.size() << " " << limit;
        ListQuery none = rare;
        none.tags = {"rare", "absent"};
        EXPECT_TRUE(walk(none).empty());
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, CatalogListTest, ::testing::Values("sqlite", "mariadb"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace glint::catalog
