#include "control/metadef_notifications.h"

#include "common/ids.h"
#include "control/notifications.h"

namespace glint::control {

using catalog::MetadefKind;
using nlohmann::json;

namespace {

json BodyOf(const catalog::MetadefItem& item) {
  json j = json::parse(item.body.empty() ? "{}" : item.body, nullptr, false);
  return j.is_object() ? j : json::object();
}

// The fields of a property's schema that Glance's payloads name.
const char* const kSchemaFields[] = {"type",      "title",     "description", "default",  "minimum",
                                     "maximum",   "enum",      "pattern",     "minLength", "maxLength",
                                     "confidential", "items",  "uniqueItems", "minItems", "maxItems",
                                     "additionalItems"};

// Python's truthiness, as Glance's `value or None` applies it to an object's properties.
bool PythonTruthy(const json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string()) return !v.get_ref<const std::string&>().empty();
  if (v.is_array() || v.is_object()) return !v.empty();
  return true;
}

json ObjectProperties(const json& body) {
  json out = json::array();
  if (!body.contains("properties") || !body["properties"].is_object()) return out;
  for (const auto& [name, p] : body["properties"].items()) {
    json one{{"name", name}};
    for (const char* f : kSchemaFields) {
      const json v = p.is_object() ? p.value(f, json()) : json();
      one[f] = PythonTruthy(v) ? v : json();
    }
    out.push_back(std::move(one));
  }
  return out;
}

std::string KindName(MetadefKind kind) {
  switch (kind) {
    case MetadefKind::kObject: return "metadef_object";
    case MetadefKind::kProperty: return "metadef_property";
    case MetadefKind::kTag: break;
  }
  return "metadef_tag";
}

void MarkDeleted(const ApiContext& api, std::string_view event, json& payload) {
  if (event != "delete") return;
  payload["deleted"] = true;
  payload["deleted_at"] = FormatIsoSeconds(api.Now());
}

void Send(const ApiContext& api, const std::string& type, std::string_view event, json payload) {
  MarkDeleted(api, event, payload);
  api.notifier->Emit(type, std::move(payload));
}

}  // namespace

json MetadefNamespacePayload(const catalog::MetadefNamespace& ns, const std::string& old_name) {
  return {{"namespace", ns.name},
          {"namespace_old", old_name.empty() ? ns.name : old_name},
          {"display_name", OrNull(ns.display_name)},
          {"protected", ns.is_protected},
          {"visibility", ns.visibility},
          {"owner", OrNull(ns.owner)},
          {"description", OrNull(ns.description)},
          {"created_at", FormatIsoSeconds(ns.created_at)},
          {"updated_at", FormatIsoSeconds(ns.updated_at)},
          {"deleted", false},
          {"deleted_at", nullptr}};
}

json MetadefItemPayload(const catalog::MetadefItem& item, const std::string& old_name) {
  json p{{"namespace", item.namespace_name},
         {"name", item.name},
         {"name_old", old_name.empty() ? item.name : old_name},
         {"deleted", false},
         {"deleted_at", nullptr}};
  json body = BodyOf(item);
  if (item.kind == MetadefKind::kProperty) {
    for (const char* f : kSchemaFields) p[f] = body.value(f, json());
    return p;  // Glance's property payload has no timestamps
  }
  if (item.kind == MetadefKind::kObject) {
    p["properties"] = ObjectProperties(body);
    p["required"] = body.value("required", json());
    p["description"] = body.value("description", json());
  }
  p["created_at"] = FormatIsoSeconds(item.created_at);
  p["updated_at"] = FormatIsoSeconds(item.updated_at);
  return p;
}

json MetadefAssociationPayload(const catalog::MetadefAssociation& a) {
  return {{"namespace", a.namespace_name},
          {"name", a.resource_type},
          {"name_old", a.resource_type},
          {"prefix", OrNull(a.prefix)},
          {"properties_target", OrNull(a.properties_target)},
          {"created_at", FormatIsoSeconds(a.created_at)},
          {"updated_at", FormatIsoSeconds(a.updated_at)},
          {"deleted", false},
          {"deleted_at", nullptr}};
}

void NotifyMetadefNamespace(const ApiContext& api, std::string_view event, const catalog::MetadefNamespace& ns,
                            const std::string& old_name) {
  std::string type = "metadef_namespace." + std::string(event);
  if (!api.notifier || !api.notifier->Enabled(type)) return;
  Send(api, type, event, MetadefNamespacePayload(ns, old_name));
}

void NotifyMetadefItem(const ApiContext& api, std::string_view event, const catalog::MetadefItem& item,
                       const std::string& old_name) {
  std::string type = KindName(item.kind) + "." + std::string(event);
  if (!api.notifier || !api.notifier->Enabled(type)) return;
  Send(api, type, event, MetadefItemPayload(item, old_name));
}

void NotifyMetadefAssociation(const ApiContext& api, std::string_view event, const catalog::MetadefAssociation& a) {
  std::string type = "metadef_resource_type." + std::string(event);
  if (!api.notifier || !api.notifier->Enabled(type)) return;
  Send(api, type, event, MetadefAssociationPayload(a));
}

}  // namespace glint::control
