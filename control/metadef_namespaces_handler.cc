#include "control/metadef_namespaces_handler.h"

#include <algorithm>
#include <set>

#include "control/json_body.h"
#include "control/metadef_notifications.h"

namespace glint::control {

using catalog::MetadefItem;
using catalog::MetadefKind;
using catalog::MetadefNamespace;
using nlohmann::json;

namespace {

std::string Query(const HttpRequest& req, const std::string& key) {
  for (const auto& [k, v] : req.query) {
    if (k == key) return v;
  }
  return "";
}

bool HasQuery(const HttpRequest& req, const std::string& key) {
  return std::any_of(req.query.begin(), req.query.end(), [&](const auto& kv) { return kv.first == key; });
}

std::string Encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// The listing's query string without the marker (Glance's "first"/"next" links).
std::string QueryWithout(const HttpRequest& req, const std::string& drop) {
  std::string q;
  for (const auto& [k, v] : req.query) {
    if (k == drop) continue;
    q += (q.empty() ? "" : "&") + Encode(k) + "=" + Encode(v);
  }
  return q;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string part = s.substr(start, end - start);
    if (!part.empty()) out.push_back(part);
    start = end + 1;
  }
  return out;
}

// Glance's list ordering: sort_key of created_at, updated_at, namespace, display_name,
// visibility, protected or owner, then namespace.
Status SortNamespaces(std::vector<MetadefNamespace>& v, const std::string& key, bool asc) {
  static const std::set<std::string> kKeys = {"created_at", "updated_at", "namespace", "display_name",
                                              "visibility", "protected", "owner", "id"};
  if (!kKeys.count(key)) return Status::InvalidArgument("Invalid sort key: " + key);
  auto field = [&](const MetadefNamespace& n) -> std::pair<std::string, int64_t> {
    if (key == "created_at" || key == "id") return {"", n.created_at};
    if (key == "updated_at") return {"", n.updated_at};
    if (key == "display_name") return {n.display_name.value_or(""), 0};
    if (key == "visibility") return {n.visibility, 0};
    if (key == "protected") return {"", n.is_protected};
    if (key == "owner") return {n.owner.value_or(""), 0};
    return {n.name, 0};
  };
  std::stable_sort(v.begin(), v.end(), [&](const MetadefNamespace& a, const MetadefNamespace& b) {
    auto fa = field(a), fb = field(b);
    if (fa != fb) return asc ? fa < fb : fa > fb;
    return asc ? a.name < b.name : a.name > b.name;
  });
  return Status::Ok();
}

}  // namespace

Result<HttpResponse> MetadefNamespacesHandler::List(const Call& call) {
  const HttpRequest& req = call.req;
  GLINT_RETURN_IF_ERROR(access_.Policy("get_metadef_namespaces", call.ctx));
  GLINT_RETURN_IF_ERROR(access_.Policy("list_metadef_resource_types", call.ctx));
  std::string visibility = Query(req, "visibility");
  if (!visibility.empty() && visibility != "public" && visibility != "private") {
    return Status::InvalidArgument("Invalid visibility value: " + visibility);
  }
  std::string dir = HasQuery(req, "sort_dir") ? Query(req, "sort_dir") : "desc";
  if (dir != "asc" && dir != "desc") return Status::InvalidArgument("Invalid sort direction: " + dir);
  int limit = api_.config.limit_param_default;
  if (HasQuery(req, "limit")) {
    std::string l = Query(req, "limit");
    if (l.empty() || l.size() > 9 || !std::all_of(l.begin(), l.end(), ::isdigit)) {
      return Status::InvalidArgument(l.size() && l[0] == '-' ? "limit param must be positive"
                                                             : "limit param must be an integer");
    }
    limit = std::min(std::stoi(l), api_.config.api_limit_max);
  }
  auto all = api_.catalog.ListMetadefNamespaces();
  if (!all.ok()) return all.status();
  auto assoc = api_.catalog.ListMetadefAssociations(std::nullopt);
  if (!assoc.ok()) return assoc.status();
  std::vector<std::string> types = SplitComma(Query(req, "resource_types"));
  std::vector<MetadefNamespace> shown;
  for (const auto& ns : *all) {
    if (!MetadefAccess::MaySee(call.ctx, ns) || (!visibility.empty() && ns.visibility != visibility)) continue;
    if (!access_.Policy("get_metadef_namespace", call.ctx, ns).ok()) continue;
    if (!types.empty() && std::none_of(assoc->begin(), assoc->end(), [&](const auto& a) {
          return a.namespace_name == ns.name &&
                 std::find(types.begin(), types.end(), a.resource_type) != types.end();
        })) {
      continue;
    }
    shown.push_back(ns);
  }
  GLINT_RETURN_IF_ERROR(SortNamespaces(shown, HasQuery(req, "sort_key") ? Query(req, "sort_key") : "created_at",
                                       dir == "asc"));
  size_t start = 0;
  if (HasQuery(req, "marker")) {
    std::string marker = Query(req, "marker");
    auto it = std::find_if(shown.begin(), shown.end(), [&](const auto& n) { return n.name == marker; });
    if (it == shown.end()) return Status::NotFound("Metadata definition namespace=" + marker + " was not found.");
    start = it - shown.begin() + 1;
  }
  json list = json::array();
  for (size_t i = start; i < shown.size() && static_cast<int>(list.size()) < limit; ++i) {
    json j = MetadefNamespaceJson(shown[i]);
    json rts = json::array();
    for (const auto& a : *assoc) {
      if (a.namespace_name == shown[i].name) rts.push_back(MetadefAssociationJson(a));
    }
    if (!rts.empty()) j["resource_type_associations"] = rts;
    list.push_back(std::move(j));
  }
  std::string q = QueryWithout(req, "marker");
  json out{{"namespaces", list},
           {"first", "/v2/metadefs/namespaces" + (q.empty() ? "" : "?" + q)},
           {"schema", "/v2/schemas/metadefs/namespaces"}};
  if (!list.empty() && static_cast<int>(list.size()) == limit) {
    out["next"] = "/v2/metadefs/namespaces?" + q + (q.empty() ? "" : "&") + "marker=" +
                  Encode(list.back()["namespace"].get<std::string>());
  }
  return JsonResponse(200, out);
}

Result<MetadefNamespace> MetadefNamespacesHandler::FromJson(const json& body, const auth::RequestContext& ctx) {
  if (!body.is_object()) return Status::InvalidArgument("Request body must be a JSON object.");
  GLINT_RETURN_IF_ERROR(CheckMetadefName(body.value("namespace", json()), "namespace", 80));
  for (const char* ro : {"created_at", "updated_at", "self", "schema"}) {
    if (body.contains(ro)) return Status::PermissionDenied(std::string("Attribute '") + ro + "' is read-only.");
  }
  MetadefNamespace ns;
  ns.name = body["namespace"].get<std::string>();
  auto text = [&](const char* key, std::optional<std::string>& into, size_t max) -> Status {
    if (!body.contains(key) || body[key].is_null()) return Status::Ok();
    if (!body[key].is_string() || body[key].get<std::string>().size() > max) {
      return Status::InvalidArgument(std::string("Invalid value for '") + key + "'.");
    }
    into = body[key].get<std::string>();
    return Status::Ok();
  };
  GLINT_RETURN_IF_ERROR(text("display_name", ns.display_name, 80));
  GLINT_RETURN_IF_ERROR(text("description", ns.description, 500));
  GLINT_RETURN_IF_ERROR(text("owner", ns.owner, 255));
  if (!ns.owner) ns.owner = ctx.project_id;
  if (body.contains("visibility")) {
    if (body["visibility"] != "public" && body["visibility"] != "private") {
      return Status::InvalidArgument("Invalid visibility value: " + body["visibility"].dump());
    }
    ns.visibility = body["visibility"].get<std::string>();
  }
  if (body.contains("protected")) {
    if (!body["protected"].is_boolean()) return Status::InvalidArgument("Invalid value for 'protected'.");
    ns.is_protected = body["protected"].get<bool>();
  }
  ns.created_at = ns.updated_at = api_.Now();
  return ns;
}

}  // namespace glint::control

namespace glint::control {

namespace {

// A create body's nested objects, properties and tags as items, and its associations.
Status NestedContents(const json& body, const std::string& ns, int64_t now, std::vector<MetadefItem>& items,
                      std::vector<catalog::MetadefAssociation>& assoc) {
  if (body.contains("objects")) {
    if (!body["objects"].is_array()) return Status::InvalidArgument("'objects' must be an array.");
    for (const json& o : body["objects"]) {
      auto item = ObjectFromJson(o, ns, now);
      if (!item.ok()) return item.status();
      items.push_back(*item);
    }
  }
  if (body.contains("properties")) {
    if (!body["properties"].is_object()) return Status::InvalidArgument("'properties' must be an object.");
    for (const auto& [name, p] : body["properties"].items()) {
      auto item = PropertyFromJson(p, name, ns, now);
      if (!item.ok()) return item.status();
      items.push_back(*item);
    }
  }
  if (body.contains("tags")) {
    if (!body["tags"].is_array()) return Status::InvalidArgument("'tags' must be an array.");
    for (const json& t : body["tags"]) {
      if (!t.is_object()) return Status::InvalidArgument("Each tag must be an object with a name.");
      GLINT_RETURN_IF_ERROR(CheckMetadefName(t.value("name", json()), "tag name", 255));
      items.push_back({MetadefKind::kTag, ns, t["name"].get<std::string>(), "", now, now});
    }
  }
  if (body.contains("resource_type_associations")) {
    if (!body["resource_type_associations"].is_array()) {
      return Status::InvalidArgument("'resource_type_associations' must be an array.");
    }
    for (const json& a : body["resource_type_associations"]) {
      if (!a.is_object()) return Status::InvalidArgument("Each resource type association must be an object.");
      GLINT_RETURN_IF_ERROR(CheckMetadefName(a.value("name", json()), "resource type name", 80));
      catalog::MetadefAssociation as{ns, a["name"].get<std::string>(), std::nullopt, std::nullopt, now, now};
      if (a.contains("prefix") && a["prefix"].is_string()) as.prefix = a["prefix"].get<std::string>();
      if (a.contains("properties_target") && a["properties_target"].is_string()) {
        as.properties_target = a["properties_target"].get<std::string>();
      }
      assoc.push_back(as);
    }
  }
  return Status::Ok();
}

}  // namespace

Result<HttpResponse> MetadefNamespacesHandler::Create(const Call& call) {
  GLINT_RETURN_IF_ERROR(access_.Policy("add_metadef_namespace", call.ctx));
  auto body = ParseJsonBody(call.req.body);
  if (!body.ok()) return body.status();
  auto ns = FromJson(*body, call.ctx);
  if (!ns.ok()) return ns.status();
  std::vector<MetadefItem> items;
  std::vector<catalog::MetadefAssociation> assoc;
  GLINT_RETURN_IF_ERROR(NestedContents(*body, ns->name, ns->created_at, items, assoc));
  if (!assoc.empty()) GLINT_RETURN_IF_ERROR(access_.Policy("add_metadef_resource_type_association", call.ctx));
  for (MetadefKind k : {MetadefKind::kObject, MetadefKind::kProperty, MetadefKind::kTag}) {
    if (std::none_of(items.begin(), items.end(), [&](const auto& i) { return i.kind == k; })) continue;
    GLINT_RETURN_IF_ERROR(access_.Policy(k == MetadefKind::kObject     ? "add_metadef_object"
                                         : k == MetadefKind::kProperty ? "add_metadef_property"
                                                                       : "add_metadef_tag",
                                         call.ctx));
  }
  GLINT_RETURN_IF_ERROR(api_.catalog.CreateMetadefNamespace(*ns, items));
  for (const auto& a : assoc) {
    Status s = api_.catalog.CreateMetadefAssociation(a);
    if (!s.ok()) {
      (void)api_.catalog.DeleteMetadefNamespace(ns->name);  // as Glance cleans up
      return s;
    }
  }
  AnnounceCreate(*ns, items, assoc);
  json out = MetadefNamespaceJson(*ns);
  GLINT_RETURN_IF_ERROR(AddContents(out, ns->name, ""));
  HttpResponse r = JsonResponse(201, out);
  r.Set("Location", api_.BaseUrl(call.req) + "/v2/metadefs/namespaces/" + ns->name);
  return r;
}

// Glance's order: the namespace, its associations, objects, tags, then properties.
void MetadefNamespacesHandler::AnnounceCreate(const MetadefNamespace& ns, const std::vector<MetadefItem>& items,
                                              const std::vector<catalog::MetadefAssociation>& assoc) {
  NotifyMetadefNamespace(api_, "create", ns);
  for (const auto& a : assoc) NotifyMetadefAssociation(api_, "create", a);
  for (MetadefKind k : {MetadefKind::kObject, MetadefKind::kTag, MetadefKind::kProperty}) {
    for (const auto& i : items) {
      if (i.kind == k) NotifyMetadefItem(api_, "create", i);
    }
  }
}

Status MetadefNamespacesHandler::AddContents(json& out, const std::string& ns, const std::string& resource_type) {
  auto assoc = api_.catalog.ListMetadefAssociations(ns);
  if (!assoc.ok()) return assoc.status();
  std::string prefix;
  json rts = json::array();
  for (const auto& a : *assoc) {
    rts.push_back(MetadefAssociationJson(a));
    if (a.resource_type == resource_type) prefix = a.prefix.value_or("");
  }
  if (!rts.empty()) out["resource_type_associations"] = rts;
  auto objects = api_.catalog.ListMetadefItems(MetadefKind::kObject, ns);
  if (!objects.ok()) return objects.status();
  json objs = json::array();
  for (const auto& o : *objects) {
    json j = MetadefObjectJson(o);
    if (!prefix.empty() && j.contains("properties")) {
      json renamed = json::object();
      for (const auto& [name, p] : j["properties"].items()) renamed[prefix + name] = p;
      j["properties"] = renamed;
    }
    objs.push_back(std::move(j));
  }
  if (!objs.empty()) out["objects"] = objs;
  auto props = api_.catalog.ListMetadefItems(MetadefKind::kProperty, ns);
  if (!props.ok()) return props.status();
  json pm = json::object();
  for (const auto& p : *props) pm[prefix + p.name] = MetadefPropertyJson(p, false);
  if (!pm.empty()) out["properties"] = pm;
  auto tags = api_.catalog.ListMetadefItems(MetadefKind::kTag, ns);
  if (!tags.ok()) return tags.status();
  json tl = json::array();
  for (const auto& t : *tags) tl.push_back({{"name", t.name}});
  if (!tl.empty()) out["tags"] = tl;
  return Status::Ok();
}

Result<HttpResponse> MetadefNamespacesHandler::Show(const Call& call) {
  auto ns = access_.Visible(call.ctx, call.id);
  if (!ns.ok()) return ns.status();
  for (const char* p : {"list_metadef_resource_types", "get_metadef_objects", "get_metadef_properties",
                        "get_metadef_tags"}) {
    GLINT_RETURN_IF_ERROR(access_.Policy(p, call.ctx, *ns));
  }
  json out = MetadefNamespaceJson(*ns);
  GLINT_RETURN_IF_ERROR(AddContents(out, ns->name, Query(call.req, "resource_type")));
  return JsonResponse(200, out);
}

Result<HttpResponse> MetadefNamespacesHandler::Update(const Call& call) {
  auto old = access_.Visible(call.ctx, call.id);
  if (!old.ok()) return Status::NotFound("Namespace " + call.id + " not found");
  GLINT_RETURN_IF_ERROR(access_.Policy("modify_metadef_namespace", call.ctx, *old));
  auto body = ParseJsonBody(call.req.body);
  if (!body.ok()) return body.status();
  auto ns = FromJson(*body, call.ctx);
  if (!ns.ok()) return ns.status();
  ns->created_at = old->created_at;
  GLINT_RETURN_IF_ERROR(api_.catalog.UpdateMetadefNamespace(old->name, *ns));
  NotifyMetadefNamespace(api_, "update", *ns, old->name);
  return JsonResponse(200, MetadefNamespaceJson(*ns));
}

Result<HttpResponse> MetadefNamespacesHandler::Delete(const Call& call) {
  auto ns = access_.Visible(call.ctx, call.id);
  if (!ns.ok()) return Status::NotFound("Namespace " + call.id + " not found");
  GLINT_RETURN_IF_ERROR(access_.Policy("delete_metadef_namespace", call.ctx, *ns));
  if (ns->is_protected) {
    return Status::PermissionDenied("Metadata definition namespace " + ns->name +
                                    " is protected and cannot be deleted.");
  }
  GLINT_RETURN_IF_ERROR(api_.catalog.DeleteMetadefNamespace(ns->name));
  NotifyMetadefNamespace(api_, "delete", *ns);
  return NoContent();
}

Result<HttpResponse> MetadefNamespacesHandler::DeleteContents(const Call& call) {
  auto ns = access_.Visible(call.ctx, call.id);
  if (!ns.ok()) return Status::NotFound("Namespace " + call.id + " not found");
  GLINT_RETURN_IF_ERROR(access_.Policy("delete_metadef_namespace", call.ctx, *ns));
  MetadefKind kind = call.arg == "objects" ? MetadefKind::kObject
                     : call.arg == "tags"  ? MetadefKind::kTag
                                           : MetadefKind::kProperty;
  if (kind == MetadefKind::kTag) GLINT_RETURN_IF_ERROR(access_.Policy("delete_metadef_tags", call.ctx, *ns));
  if (ns->is_protected) {
    return Status::PermissionDenied("Metadata definition namespace " + ns->name +
                                    " is protected and cannot be deleted.");
  }
  GLINT_RETURN_IF_ERROR(api_.catalog.ReplaceMetadefItems(kind, ns->name, {}, false));
  NotifyMetadefNamespace(api_, "delete_" + call.arg, *ns);
  return NoContent();
}

}  // namespace glint::control
