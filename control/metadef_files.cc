#include "control/metadef_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "control/json_body.h"
#include "control/metadef_access.h"

namespace glint::control {

using catalog::MetadefItem;
using catalog::MetadefKind;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Definition {
  catalog::MetadefNamespace ns;
  std::vector<MetadefItem> items;
  std::vector<catalog::MetadefAssociation> assoc;
};

Result<Definition> ParseDefinition(const json& doc, int64_t now) {
  if (!doc.is_object()) return Status::InvalidArgument("not a JSON object");
  GLINT_RETURN_IF_ERROR(CheckMetadefName(doc.value("namespace", json()), "namespace", 80));
  Definition d;
  d.ns.name = doc["namespace"].get<std::string>();
  if (doc.contains("display_name") && doc["display_name"].is_string()) d.ns.display_name = doc["display_name"];
  if (doc.contains("description") && doc["description"].is_string()) d.ns.description = doc["description"];
  d.ns.visibility = doc.value("visibility", "public") == "private" ? "private" : "public";
  d.ns.is_protected = doc.value("protected", false);
  d.ns.owner = doc.contains("owner") && doc["owner"].is_string() ? doc["owner"].get<std::string>() : "admin";
  d.ns.created_at = d.ns.updated_at = now;
  for (const json& o : doc.value("objects", json::array())) {
    auto item = ObjectFromJson(o, d.ns.name, now);
    if (!item.ok()) return item.status();
    d.items.push_back(*item);
  }
  const json props = doc.value("properties", json::object());  // kept alive for items()
  for (const auto& [name, p] : props.items()) {
    auto item = PropertyFromJson(p, name, d.ns.name, now);
    if (!item.ok()) return item.status();
    d.items.push_back(*item);
  }
  for (const json& t : doc.value("tags", json::array())) {
    GLINT_RETURN_IF_ERROR(CheckMetadefName(t.value("name", json()), "tag name", 255));
    d.items.push_back({MetadefKind::kTag, d.ns.name, t["name"].get<std::string>(), "", now, now});
  }
  for (const json& a : doc.value("resource_type_associations", json::array())) {
    GLINT_RETURN_IF_ERROR(CheckMetadefName(a.value("name", json()), "resource type", 80));
    catalog::MetadefAssociation as{d.ns.name, a["name"].get<std::string>(), std::nullopt, std::nullopt, now, now};
    if (a.contains("prefix") && a["prefix"].is_string()) as.prefix = a["prefix"].get<std::string>();
    if (a.contains("properties_target") && a["properties_target"].is_string()) {
      as.properties_target = a["properties_target"].get<std::string>();
    }
    d.assoc.push_back(as);
  }
  return d;
}

Result<json> ReadJsonFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = ParseJsonBody(ss.str());
  if (!doc.ok()) return Status::InvalidArgument(path.string() + ": " + doc.status().message());
  return doc;
}

}  // namespace

Result<MetadefLoadReport> LoadMetadefFiles(catalog::Catalog& catalog, const std::string& dir, bool overwrite,
                                           int64_t now) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  if (ec) return Status::NotFound("cannot list " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  MetadefLoadReport report;
  for (const auto& file : files) {
    auto doc = ReadJsonFile(file);
    if (!doc.ok()) return doc.status();
    auto def = ParseDefinition(*doc, now);
    if (!def.ok()) return Status::InvalidArgument(file.string() + ": " + def.status().message());
    bool exists = catalog.GetMetadefNamespace(def->ns.name).ok();
    if (exists && !overwrite) {
      ++report.skipped;
      continue;
    }
    if (exists) GLINT_RETURN_IF_ERROR(catalog.DeleteMetadefNamespace(def->ns.name));
    Status s = catalog.CreateMetadefNamespace(def->ns, def->items);
    if (!s.ok()) return s.Prefixed(file.string() + ": ");
    for (const auto& a : def->assoc) {
      GLINT_RETURN_IF_ERROR(catalog.EnsureMetadefResourceType({a.resource_type, true, now, now}));
      GLINT_RETURN_IF_ERROR(catalog.CreateMetadefAssociation(a));
    }
    ++report.loaded;
  }
  return report;
}

Result<int> UnloadMetadefs(catalog::Catalog& catalog) {
  auto all = catalog.ListMetadefNamespaces();
  if (!all.ok()) return all.status();
  for (const auto& ns : *all) GLINT_RETURN_IF_ERROR(catalog.DeleteMetadefNamespace(ns.name));
  return static_cast<int>(all->size());
}

Result<int> ExportMetadefFiles(catalog::Catalog& catalog, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Internal("cannot create " + dir + ": " + ec.message());
  auto all = catalog.ListMetadefNamespaces();
  if (!all.ok()) return all.status();
  for (const auto& ns : *all) {
    json doc{{"namespace", ns.name}, {"display_name", ns.display_name.value_or("")},
             {"description", ns.description.value_or("")}, {"visibility", ns.visibility},
             {"protected", ns.is_protected}, {"owner", ns.owner.value_or("")}};
    auto assoc = catalog.ListMetadefAssociations(ns.name);
    if (!assoc.ok()) return assoc.status();
    json rts = json::array();
    for (const auto& a : *assoc) {
      rts.push_back({{"name", a.resource_type}, {"prefix", a.prefix ? json(*a.prefix) : json()},
                     {"properties_target", a.properties_target ? json(*a.properties_target) : json()}});
    }
    doc["resource_type_associations"] = rts;
    json objects = json::array(), properties = json::object(), tags = json::array();
    for (MetadefKind k : {MetadefKind::kObject, MetadefKind::kProperty, MetadefKind::kTag}) {
      auto items = catalog.ListMetadefItems(k, ns.name);
      if (!items.ok()) return items.status();
      for (const auto& i : *items) {
        json body = json::parse(i.body.empty() ? "{}" : i.body, nullptr, false);
        if (k == MetadefKind::kObject) {
          json o{{"name", i.name}};
          if (body.is_object()) o.update(body);
          objects.push_back(std::move(o));
        }
        if (k == MetadefKind::kProperty) properties[i.name] = body;
        if (k == MetadefKind::kTag) tags.push_back({{"name", i.name}});
      }
    }
    doc["objects"] = objects;
    doc["properties"] = properties;
    doc["tags"] = tags;
    std::string base;
    for (char c : ns.display_name.value_or(ns.name)) {
      if (std::isalnum(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80) base += c;
    }
    if (base.empty()) base = "namespace";
    std::ofstream out(fs::path(dir) / (base + ".json"));
    out << DumpJson(doc) << "\n";
    if (!out) return Status::Internal("cannot write " + (fs::path(dir) / (base + ".json")).string());
  }
  return static_cast<int>(all->size());
}

}  // namespace glint::control
