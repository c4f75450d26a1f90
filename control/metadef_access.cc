#include "control/metadef_access.h"

#include "common/ids.h"

namespace glint::control {

using catalog::MetadefItem;
using catalog::MetadefKind;
using catalog::MetadefNamespace;
using nlohmann::json;

bool MetadefAccess::MaySee(const auth::RequestContext& ctx, const MetadefNamespace& ns) {
  return ctx.is_admin || ns.visibility == "public" || (ctx.project_id && ns.owner == ctx.project_id);
}

Result<MetadefNamespace> MetadefAccess::Visible(const auth::RequestContext& ctx, const std::string& name,
                                                const char* action) const {
  auto ns = api_.catalog.GetMetadefNamespace(name);
  if (!ns.ok()) return ns;
  if (!MaySee(ctx, *ns) || !Policy(action, ctx, *ns).ok()) {
    return Status::NotFound("Metadata definition namespace=" + name + " was not found.");
  }
  return ns;
}

Status MetadefAccess::Policy(const char* action, const auth::RequestContext& ctx,
                             const MetadefNamespace& ns) const {
  if (!api_.policy) return Status::Ok();
  auth::PolicyTarget t{{"visibility", ns.visibility}};
  if (ns.owner) t["project_id"] = *ns.owner;
  return api_.policy->Enforce(action, ctx, t);
}

Status MetadefAccess::Policy(const char* action, const auth::RequestContext& ctx) const {
  if (!api_.policy) return Status::Ok();
  auth::PolicyTarget t;
  if (ctx.project_id) t["project_id"] = *ctx.project_id;
  return api_.policy->Enforce(action, ctx, t);
}

namespace {

json Body(const MetadefItem& item) {
  json b = json::parse(item.body.empty() ? "{}" : item.body, nullptr, false);
  return b.is_object() ? b : json::object();
}

}  // namespace

json MetadefNamespaceJson(const MetadefNamespace& ns) {
  json j{{"namespace", ns.name},
         {"visibility", ns.visibility},
         {"protected", ns.is_protected},
         {"created_at", FormatIsoSeconds(ns.created_at)},
         {"updated_at", FormatIsoSeconds(ns.updated_at)},
         {"self", "/v2/metadefs/namespaces/" + ns.name},
         {"schema", "/v2/schemas/metadefs/namespace"}};
  if (ns.display_name) j["display_name"] = *ns.display_name;
  if (ns.description) j["description"] = *ns.description;
  if (ns.owner) j["owner"] = *ns.owner;
  return j;
}

json MetadefObjectJson(const MetadefItem& item) {
  json j = Body(item);
  j["name"] = item.name;
  j["created_at"] = FormatIsoSeconds(item.created_at);
  j["updated_at"] = FormatIsoSeconds(item.updated_at);
  j["self"] = "/v2/metadefs/namespaces/" + item.namespace_name + "/objects/" + item.name;
  j["schema"] = "/v2/schemas/metadefs/object";
  return j;
}

json MetadefPropertyJson(const MetadefItem& item, bool with_name) {
  json j = Body(item);
  if (with_name) j["name"] = item.name;
  return j;
}

json MetadefTagJson(const MetadefItem& item) {
  return {{"name", item.name},
          {"created_at", FormatIsoSeconds(item.created_at)},
          {"updated_at", FormatIsoSeconds(item.updated_at)}};
}

json MetadefAssociationJson(const catalog::MetadefAssociation& a) {
  json j{{"name", a.resource_type},
         {"created_at", FormatIsoSeconds(a.created_at)},
         {"updated_at", FormatIsoSeconds(a.updated_at)}};
  if (a.prefix) j["prefix"] = *a.prefix;
  if (a.properties_target) j["properties_target"] = *a.properties_target;
  return j;
}

HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  return r;
}

Status CheckMetadefName(const json& v, const char* what, size_t max_len) {
  if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > max_len) {
    return Status::InvalidArgument(std::string("Invalid ") + what + ": a string of 1 to " +
                                   std::to_string(max_len) + " characters is required.");
  }
  return Status::Ok();
}

Result<MetadefItem> ObjectFromJson(const json& body, const std::string& ns, int64_t now) {
  if (!body.is_object()) return Status::InvalidArgument("Request body must be a JSON object.");
  GLINT_RETURN_IF_ERROR(CheckMetadefName(body.value("name", json()), "object name", 80));
  json rest = json::object();
  if (body.contains("description")) {
    if (!body["description"].is_string()) return Status::InvalidArgument("Invalid object description.");
    rest["description"] = body["description"];
  }
  if (body.contains("required")) {
    if (!body["required"].is_array()) return Status::InvalidArgument("Object 'required' must be an array.");
    for (const auto& r : body["required"]) {
      if (!r.is_string()) return Status::InvalidArgument("Object 'required' must list names.");
    }
    rest["required"] = body["required"];
  }
  if (body.contains("properties")) {
    if (!body["properties"].is_object()) return Status::InvalidArgument("Object 'properties' must be an object.");
    for (const auto& [name, p] : body["properties"].items()) {
      if (name.empty() || name.size() > 80 || !p.is_object()) {
        return Status::InvalidArgument("Invalid property '" + name + "' in object.");
      }
    }
    rest["properties"] = body["properties"];
  }
  return MetadefItem{MetadefKind::kObject, ns, body["name"].get<std::string>(), rest.dump(), now, now};
}

Result<MetadefItem> PropertyFromJson(const json& body, const std::string& name, const std::string& ns,
                                     int64_t now) {
  if (!body.is_object()) return Status::InvalidArgument("Property '" + name + "' must be a JSON object.");
  GLINT_RETURN_IF_ERROR(CheckMetadefName(json(name), "property name", 80));
  if (!body.contains("type") || !body["type"].is_string()) {
    return Status::InvalidArgument("Property '" + name + "': 'type' is a required property");
  }
  if (!body.contains("title") || !body["title"].is_string()) {
    return Status::InvalidArgument("Property '" + name + "': 'title' is a required property");
  }
  static const char* kTypes[] = {"array", "boolean", "integer", "number", "object", "string"};
  bool known = false;
  for (const char* t : kTypes) known = known || body["type"] == t;
  if (!known) return Status::InvalidArgument("Property '" + name + "': invalid type.");
  json rest = body;
  rest.erase("name");
  return MetadefItem{MetadefKind::kProperty, ns, name, rest.dump(), now, now};
}

}  // namespace glint::control
