// The metadefs payloads against what Glance's glance.notifier builds (the suite
// tests/notifications/test_metadef_notifications.py compares them with Glance's own code
// end to end; these pin the corner cases).
#include "control/metadef_notifications.h"

#include <gtest/gtest.h>

#include <set>

namespace glint::control {
namespace {

using catalog::MetadefItem;
using catalog::MetadefKind;
using nlohmann::json;

constexpr int64_t kWhen = 1700000000LL * 1000000;  // 2023-11-14T22:13:20Z

std::set<std::string> Keys(const json& j) {
  std::set<std::string> out;
  for (const auto& [k, v] : j.items()) out.insert(k);
  return out;
}

TEST(MetadefNotifications, NamespaceCarriesItsOldNameOnlyWhenRenamed) {
  catalog::MetadefNamespace ns{"new", std::nullopt, std::string("d"), "public", true, std::string("p1"), kWhen,
                               kWhen};
  json same = MetadefNamespacePayload(ns, "");
  EXPECT_EQ(same["namespace_old"], "new");
  EXPECT_TRUE(same["display_name"].is_null());
  EXPECT_EQ(same["protected"], true);
  EXPECT_EQ(same["created_at"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(same["deleted"], false);
  EXPECT_EQ(MetadefNamespacePayload(ns, "old")["namespace_old"], "old");
  EXPECT_EQ(Keys(same), (std::set<std::string>{"namespace", "namespace_old", "display_name", "protected",
                                                "visibility", "owner", "description", "created_at", "updated_at",
                                                "deleted", "deleted_at"}));
}

TEST(MetadefNotifications, ObjectPropertiesTurnFalsyValuesToNullAsGlanceDoes) {
  json body{{"properties",
             {{"a", {{"type", "integer"}, {"minimum", 0}, {"maximum", 5}, {"uniqueItems", false}}},
              {"b", {{"type", "string"}, {"enum", json::array()}, {"title", ""}, {"default", "x"}}}}}};
  MetadefItem obj{MetadefKind::kObject, "ns", "o", body.dump(), kWhen, kWhen};
  json p = MetadefItemPayload(obj, "old-o");
  EXPECT_EQ(p["name_old"], "old-o");
  EXPECT_TRUE(p["required"].is_null());
  EXPECT_TRUE(p["description"].is_null());
  ASSERT_EQ(p["properties"].size(), 2u);
  const json& a = p["properties"][0];
  EXPECT_EQ(a["name"], "a");
  EXPECT_TRUE(a["minimum"].is_null());
  EXPECT_TRUE(a["uniqueItems"].is_null());
  EXPECT_EQ(a["maximum"], 5);
  EXPECT_EQ(a.size(), 17u);  // the name and Glance's 16 fields
  const json& b = p["properties"][1];
  EXPECT_TRUE(b["enum"].is_null());
  EXPECT_TRUE(b["title"].is_null());
  EXPECT_EQ(b["default"], "x");
}

TEST(MetadefNotifications, PropertyGivesItsSchemaAsItIsAndNoTimestamps) {
  MetadefItem prop{MetadefKind::kProperty, "ns", "p", R"({"type":"string","title":"P","minLength":0})", kWhen, kWhen};
  json p = MetadefItemPayload(prop, "");
  EXPECT_EQ(p["minLength"], 0);
  EXPECT_TRUE(p["maxLength"].is_null());
  EXPECT_FALSE(p.contains("created_at"));
  EXPECT_EQ(p.size(), 5u + 16u);  // namespace, name, name_old, deleted, deleted_at and the schema fields
}

TEST(MetadefNotifications, TagsAndAssociationsHaveGlancesKeys) {
  MetadefItem tag{MetadefKind::kTag, "ns", "t", "", kWhen, kWhen};
  EXPECT_EQ(Keys(MetadefItemPayload(tag, "")), (std::set<std::string>{"namespace", "name", "name_old", "created_at",
                                                                        "updated_at", "deleted", "deleted_at"}));
  catalog::MetadefAssociation a{"ns", "OS::Glance::Image", std::string("hw_"), std::nullopt, kWhen, kWhen};
  json p = MetadefAssociationPayload(a);
  EXPECT_EQ(p["name"], "OS::Glance::Image");
  EXPECT_EQ(p["prefix"], "hw_");
  EXPECT_TRUE(p["properties_target"].is_null());
}

TEST(MetadefNotifications, AnUnreadableBodyGivesAnEmptyObjectNotACrash) {
  MetadefItem obj{MetadefKind::kObject, "ns", "o", "{not json", kWhen, kWhen};
  json p = MetadefItemPayload(obj, "");
  EXPECT_EQ(p["properties"], json::array());
  MetadefItem odd{MetadefKind::kObject, "ns", "o", R"({"properties":{"x":3}})", kWhen, kWhen};
  EXPECT_TRUE(MetadefItemPayload(odd, "")["properties"][0]["type"].is_null());
}

}  // namespace
}  // namespace glint::control
