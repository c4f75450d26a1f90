// The metadata definitions catalog on every engine (SQLite, MariaDB): uniqueness,
// cascades on namespace rename and delete, tag replacement, associations.
#include <algorithm>

#include "catalog/catalog.h"
#include "tests/support/scratch_database.h"
#include "tests/support/test_support.h"

namespace glint::catalog {
namespace {

class MetadefCatalogTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    url_ = glint::testing::ScratchDatabaseUrl(GetParam(), dir_);
    if (url_.empty()) GTEST_SKIP() << GetParam() << " is not available here";
    if (GetParam() != "sqlite") {
      ASSERT_TRUE(SyncCatalogSchema(url_).ok());
    }
    Status s;
    catalog_ = OpenCatalog(url_, &s);
    ASSERT_TRUE(catalog_) << s.ToString();
  }
  static MetadefNamespace Ns(const std::string& name, const std::string& owner = "p1") {
    MetadefNamespace ns;
    ns.name = name;
    ns.owner = owner;
    ns.display_name = name + " display";
    ns.created_at = ns.updated_at = 10;
    return ns;
  }
  static MetadefItem Item(MetadefKind kind, const std::string& ns, const std::string& name,
                          const std::string& body = "{}") {
    return {kind, ns, name, kind == MetadefKind::kTag ? "" : body, 20, 20};
  }
  std::vector<std::string> Names(MetadefKind kind, const std::string& ns) {
    std::vector<std::string> out;
    auto items = catalog_->ListMetadefItems(kind, ns);
    EXPECT_TRUE(items.ok()) << items.status().ToString();
    if (items.ok()) for (const auto& i : *items) out.push_back(i.name);
    std::sort(out.begin(), out.end());
    return out;
  }

  glint::testing::TempDir dir_;
  std::string url_;
  std::unique_ptr<Catalog> catalog_;
};

TEST_P(MetadefCatalogTest, NamespaceWithContentsAndDuplicates) {
  ASSERT_OK(catalog_->CreateMetadefNamespace(
      Ns("OS::Compute"), {Item(MetadefKind::kObject, "", "o1", R"({"required":[]})"),
                          Item(MetadefKind::kProperty, "", "p1", R"({"type":"string"})"),
                          Item(MetadefKind::kTag, "", "t1")}));
  Status dup = catalog_->CreateMetadefNamespace(Ns("OS::Compute"), {});
  EXPECT_EQ(dup.code(), Status::Code::kConflict);
  EXPECT_NE(dup.message().find("namespace=OS::Compute already exists"), std::string::npos);
  // Contents that repeat a name: nothing is created.
  EXPECT_EQ(catalog_->CreateMetadefNamespace(Ns("B"), {Item(MetadefKind::kTag, "", "x"),
                                                        Item(MetadefKind::kTag, "", "x")})
                .code(),
            Status::Code::kConflict);
  EXPECT_EQ(catalog_->GetMetadefNamespace("B").status().code(), Status::Code::kNotFound);

  auto ns = catalog_->GetMetadefNamespace("OS::Compute");
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(ns->owner, "p1");
  EXPECT_EQ(ns->visibility, "private");
  EXPECT_EQ(ns->display_name, "OS::Compute display");
  auto prop = catalog_->GetMetadefItem(MetadefKind::kProperty, "OS::Compute", "p1");
  ASSERT_TRUE(prop.ok());
  EXPECT_EQ(prop->body, R"({"type":"string"})");
  EXPECT_EQ(catalog_->CreateMetadefItem(Item(MetadefKind::kObject, "OS::Compute", "o1")).code(),
            Status::Code::kConflict);
  EXPECT_EQ(catalog_->CreateMetadefItem(Item(MetadefKind::kObject, "nope", "o1")).code(),
            Status::Code::kNotFound);
  // The same name in another namespace, or as another kind, is fine.
  ASSERT_OK(catalog_->CreateMetadefNamespace(Ns("Other", "p2"), {}));
  ASSERT_OK(catalog_->CreateMetadefItem(Item(MetadefKind::kObject, "Other", "o1")));
  ASSERT_OK(catalog_->CreateMetadefItem(Item(MetadefKind::kTag, "OS::Compute", "o1")));
  auto all = catalog_->ListMetadefNamespaces();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
}

TEST_P(MetadefCatalogTest, RenameAndDeleteCascade) {
  ASSERT_OK(catalog_->CreateMetadefNamespace(Ns("A"), {Item(MetadefKind::kObject, "", "o"),
                                                       Item(MetadefKind::kTag, "", "t")}));
  ASSERT_OK(catalog_->CreateMetadefNamespace(Ns("Taken"), {}));
  ASSERT_OK(catalog_->CreateMetadefAssociation({"A", "OS::Glance::Image", "hw_", std::nullopt, 1, 1}));
  MetadefNamespace renamed = Ns("A2");
  renamed.visibility = "public";
  renamed.is_protected = true;
  ASSERT_OK(catalog_->UpdateMetadefNamespace("A", renamed));
  EXPECT_EQ(catalog_->GetMetadefNamespace("A").status().code(), Status::Code::kNotFound);
  auto got = catalog_->GetMetadefNamespace("A2");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->is_protected);
  EXPECT_EQ(got->visibility, "public");
  EXPECT_EQ(Names(MetadefKind::kObject, "A2"), std::vector<std::string>{"o"});
  EXPECT_EQ(Names(MetadefKind::kTag, "A2"), std::vector<std::string>{"t"});
  EXPECT_EQ(catalog_->ListMetadefAssociations(std::string("A2"))->size(), 1u);
  EXPECT_EQ(catalog_->UpdateMetadefNamespace("A2", Ns("Taken")).code(), Status::Code::kConflict);
  EXPECT_EQ(catalog_->UpdateMetadefNamespace("nope", Ns("x")).code(), Status::Code::kNotFound);

  ASSERT_OK(catalog_->DeleteMetadefNamespace("A2"));
  EXPECT_EQ(catalog_->DeleteMetadefNamespace("A2").code(), Status::Code::kNotFound);
  // A namespace of the same name starts empty: nothing of the old one is left behind.
  ASSERT_OK(catalog_->CreateMetadefNamespace(Ns("A2"), {}));
  EXPECT_TRUE(Names(MetadefKind::kObject, "A2").empty());
  EXPECT_TRUE(Names(MetadefKind::kTag, "A2").empty());
  EXPECT_TRUE(catalog_->ListMetadefAssociations(std::string("A2"))->empty());
  // The resource type the association created stays.
  auto types = catalog_->ListMetadefResourceTypes();
  ASSERT_TRUE(types.ok());
  ASSERT_EQ(types->size(), 1u);
  EXPECT_EQ((*types)[0].name, "OS::Glance::Image");
}

TEST_P(MetadefCatalogTest, ItemUpdateRenameAndDelete) {
  ASSERT_OK(catalog_->CreateMetadefNamespace(Ns("N"), {Item(MetadefKind::kProperty, "", "a"),
                                                       Item(MetadefKind::kProperty, "", "b")}));
  EXPECT_EQ(catalog_->UpdateMetadefItem("a", Item(MetadefKind::kProperty, "N", "b")).code(),
            Status::Code::kConflict);
  ASSERT_OK(catalog_->UpdateMetadefItem("a", Item(MetadefKind::kProperty, "N", "c", R"({"x":1})")));
  EXPECT_EQ(Names(MetadefKind::kProperty, "N"), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(catalog_->GetMetadefItem(MetadefKind::kProperty, "N", "c")->body, R"({"x":1})");
  EXPECT_EQ(catalog_->UpdateMetadefItem("zz", Item(MetadefKind::kProperty, "N", "zz")).code(),
            Status::Code::kNotFound);
  ASSERT_OK(catalog_->DeleteMetadefItem(MetadefKind::kProperty, "N", "b"));
  Status gone = catalog_->DeleteMetadefItem(MetadefKind::kProperty, "N", "b");
  EXPECT_EQ(gone.code(), Status::Code::kNotFound);
  EXPECT_NE(gone.message().find("property with name=b was not found in namespace=N"), std::string::npos);
  EXPECT_EQ(catalog_->ListMetadefItems(MetadefKind::kTag, "nope").status().code(), Status::Code::kNotFound);
}

TEST_P(MetadefCatalogTest, ReplaceTagsAppendAndDeleteContents) {
  ASSERT_OK(catalog_->CreateMetadefNamespace(Ns("N"), {Item(MetadefKind::kTag, "", "old")}));
  const auto tags = [](std::vector<std::string> names) {
    std::vector<MetadefItem> out;
    for (auto& n : names) out.push_back(Item(MetadefKind::kTag, "N", n));
    return out;
  };
  ASSERT_OK(catalog_->ReplaceMetadefItems(MetadefKind::kTag, "N", tags({"a", "b"}), /*append=*/true));
  EXPECT_EQ(Names(MetadefKind::kTag, "N"), (std::vector<std::string>{"a", "b", "old"}));
  EXPECT_EQ(catalog_->ReplaceMetadefItems(MetadefKind::kTag, "N", tags({"c", "a"}), true).code(),
            Status::Code::kConflict);
  EXPECT_EQ(Names(MetadefKind::kTag, "N"), (std::vector<std::string>{"a", "b", "old"}));
  ASSERT_OK(catalog_->ReplaceMetadefItems(MetadefKind::kTag, "N", tags({"c", "a"}), false));
  EXPECT_EQ(Names(MetadefKind::kTag, "N"), (std::vector<std::string>{"a", "c"}));
  ASSERT_OK(catalog_->ReplaceMetadefItems(MetadefKind::kTag, "N", {}, false));
  EXPECT_TRUE(Names(MetadefKind::kTag, "N").empty());
  EXPECT_EQ(catalog_->ReplaceMetadefItems(MetadefKind::kTag, "x", {}, false).code(),
            Status::Code::kNotFound);
}

TEST_P(MetadefCatalogTest, Associations) {
  ASSERT_OK(catalog_->CreateMetadefNamespace(Ns("N"), {}));
  ASSERT_OK(catalog_->EnsureMetadefResourceType({"OS::Nova::Flavor", true, 1, 1}));
  ASSERT_OK(catalog_->EnsureMetadefResourceType({"OS::Nova::Flavor", false, 2, 2}));  // kept as is
  ASSERT_OK(catalog_->CreateMetadefAssociation({"N", "OS::Nova::Flavor", std::nullopt, "x", 3, 3}));
  EXPECT_EQ(catalog_->CreateMetadefAssociation({"N", "OS::Nova::Flavor", std::nullopt, "x", 3, 3}).code(),
            Status::Code::kConflict);
  EXPECT_EQ(catalog_->CreateMetadefAssociation({"nope", "OS::Nova::Flavor", std::nullopt, "x", 3, 3}).code(),
            Status::Code::kNotFound);
  auto types = catalog_->ListMetadefResourceTypes();
  ASSERT_EQ(types->size(), 1u);
  EXPECT_TRUE((*types)[0].is_protected);
  auto assoc = catalog_->ListMetadefAssociations(std::nullopt);
  ASSERT_EQ(assoc->size(), 1u);
  EXPECT_EQ((*assoc)[0].properties_target, "x");
  EXPECT_FALSE((*assoc)[0].prefix);
  ASSERT_OK(catalog_->DeleteMetadefAssociation("N", "OS::Nova::Flavor"));
  EXPECT_EQ(catalog_->DeleteMetadefAssociation("N", "OS::Nova::Flavor").code(), Status::Code::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Engines, MetadefCatalogTest, ::testing::Values("sqlite", "mariadb"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace glint::catalog
