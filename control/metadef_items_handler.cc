#include "control/metadef_items_handler.h"

#include <set>

#include "common/text.h"
#include "control/json_body.h"
#include "control/metadef_notifications.h"

namespace glint::control {

using catalog::MetadefItem;
using catalog::MetadefKind;
using nlohmann::json;

namespace {

// Glance's policy names per kind: list, add, get, modify, delete.
struct KindPolicies {
  const char* list;
  const char* add;
  const char* get;
  const char* modify;
  const char* remove;
};

KindPolicies PoliciesOf(MetadefKind kind) {
  switch (kind) {
    case MetadefKind::kObject:
      return {"get_metadef_objects", "add_metadef_object", "get_metadef_object", "modify_metadef_object",
              "delete_metadef_object"};
    case MetadefKind::kProperty:
      return {"get_metadef_properties", "add_metadef_property", "get_metadef_property",
              "modify_metadef_property", "remove_metadef_property"};
    case MetadefKind::kTag: break;
  }
  return {"get_metadef_tags", "add_metadef_tag", "get_metadef_tag", "modify_metadef_tag", "delete_metadef_tag"};
}


bool TrueWord(std::string_view v) {
  const std::string s = AsciiLower(v);
  return s == "true" || s == "1" || s == "yes" || s == "y" || s == "on" || s == "t";
}

}  // namespace

json MetadefItemsHandler::ItemJson(const MetadefItem& item) const {
  switch (item.kind) {
    case MetadefKind::kObject: return MetadefObjectJson(item);
    case MetadefKind::kProperty: return MetadefPropertyJson(item, true);
    case MetadefKind::kTag: break;
  }
  return MetadefTagJson(item);
}

Result<MetadefItem> MetadefItemsHandler::FromBody(const Call& call, MetadefKind kind, const std::string& ns) {
  auto body = ParseJsonBody(call.req.body);
  if (!body.ok()) return body.status();
  if (!body->is_object()) return Status::InvalidArgument("Request body must be a JSON object.");
  for (const char* ro : {"created_at", "updated_at", "self", "schema"}) {
    if (kind != MetadefKind::kProperty && body->contains(ro)) {
      return Status::PermissionDenied(std::string("Attribute '") + ro + "' is read-only.");
    }
  }
  int64_t now = api_.Now();
  if (kind == MetadefKind::kObject) return ObjectFromJson(*body, ns, now);
  if (kind == MetadefKind::kProperty) {
    GLINT_RETURN_IF_ERROR(CheckMetadefName(body->value("name", json()), "property name", 80));
    return PropertyFromJson(*body, (*body)["name"].get<std::string>(), ns, now);
  }
  GLINT_RETURN_IF_ERROR(CheckMetadefName(body->value("name", json()), "tag name", 255));
  return MetadefItem{kind, ns, (*body)["name"].get<std::string>(), "", now, now};
}

Result<HttpResponse> MetadefItemsHandler::List(const Call& call, MetadefKind kind) {
  auto ns = access_.Visible(call.ctx, call.id);
  if (!ns.ok()) return ns.status();
  GLINT_RETURN_IF_ERROR(access_.Policy(PoliciesOf(kind).list, call.ctx, *ns));
  auto items = api_.catalog.ListMetadefItems(kind, ns->name);
  if (!items.ok()) return items.status();
  if (kind == MetadefKind::kProperty) {
    json props = json::object();
    for (const auto& p : *items) props[p.name] = MetadefPropertyJson(p, false);
    return JsonResponse(200, {{"properties", props}});
  }
  json list = json::array();
  for (const auto& i : *items) list.push_back(ItemJson(i));
  if (kind == MetadefKind::kTag) return JsonResponse(200, {{"tags", list}});
  return JsonResponse(200, {{"objects", list}, {"schema", "v2/schemas/metadefs/objects"}});
}

Result<HttpResponse> MetadefItemsHandler::Create(const Call& call, MetadefKind kind) {
  auto ns = access_.Visible(call.ctx, call.id);
  if (!ns.ok()) return Status::NotFound("Namespace " + call.id + " not found");
  if (kind == MetadefKind::kTag) return CreateTags(call, *ns);
  GLINT_RETURN_IF_ERROR(access_.Policy(PoliciesOf(kind).add, call.ctx, *ns));
  auto item = FromBody(call, kind, ns->name);
  if (!item.ok()) return item.status();
  GLINT_RETURN_IF_ERROR(api_.catalog.CreateMetadefItem(*item));
  NotifyMetadefItem(api_, "create", *item);
  return JsonResponse(201, ItemJson(*item));
}

Result<HttpResponse> MetadefItemsHandler::CreateTags(const Call& call, const catalog::MetadefNamespace& ns) {
  GLINT_RETURN_IF_ERROR(access_.Policy("add_metadef_tags", call.ctx, ns));
  auto body = ParseJsonBody(call.req.body);
  if (!body.ok()) return body.status();
  if (!body->is_object() || !body->contains("tags") || !(*body)["tags"].is_array()) {
    return Status::InvalidArgument("Request body must be {\"tags\": [{\"name\": ...}, ...]}.");
  }
  std::vector<MetadefItem> tags;
  std::set<std::string> seen;
  json out = json::array();
  int64_t now = api_.Now();
  for (const json& t : (*body)["tags"]) {
    if (!t.is_object()) return Status::InvalidArgument("Each tag must be an object with a name.");
    GLINT_RETURN_IF_ERROR(CheckMetadefName(t.value("name", json()), "tag name", 255));
    std::string name = t["name"].get<std::string>();
    if (!seen.insert(name).second) {
      return Status::Conflict("A metadata tag with name=" + name + " already exists in namespace=" + ns.name +
                              ". (Please note that metadata tag names are case insensitive).");
    }
    tags.push_back({MetadefKind::kTag, ns.name, name, "", now, now});
    out.push_back({{"name", name}});
  }
  bool append = TrueWord(call.req.Header("x-openstack-append"));
  GLINT_RETURN_IF_ERROR(api_.catalog.ReplaceMetadefItems(MetadefKind::kTag, ns.name, tags, append));
  for (const auto& t : tags) NotifyMetadefItem(api_, "create", t);
  return JsonResponse(201, {{"tags", out}});
}

Result<HttpResponse> MetadefItemsHandler::CreateTag(const Call& call) {
  auto ns = access_.Visible(call.ctx, call.id);
  if (!ns.ok()) return Status::NotFound("Namespace " + call.id + " not found");
  GLINT_RETURN_IF_ERROR(access_.Policy("add_metadef_tag", call.ctx, *ns));
  GLINT_RETURN_IF_ERROR(CheckMetadefName(json(call.arg), "tag name", 255));
  int64_t now = api_.Now();
  MetadefItem tag{MetadefKind::kTag, ns->name, call.arg, "", now, now};
  GLINT_RETURN_IF_ERROR(api_.catalog.CreateMetadefItem(tag));
  NotifyMetadefItem(api_, "create", tag);
  return JsonResponse(201, MetadefTagJson(tag));
}

Result<HttpResponse> MetadefItemsHandler::Show(const Call& call, MetadefKind kind) {
  auto ns = access_.Visible(call.ctx, call.id);
  if (!ns.ok()) return ns.status();
  GLINT_RETURN_IF_ERROR(access_.Policy(PoliciesOf(kind).get, call.ctx, *ns));
  auto item = api_.catalog.GetMetadefItem(kind, ns->name, call.arg);
  if (!item.ok()) return item.status();
  return JsonResponse(200, ItemJson(*item));
}

Result<HttpResponse> MetadefItemsHandler::Update(const Call& call, MetadefKind kind) {
  auto ns = access_.Visible(call.ctx, call.id);
  if (!ns.ok()) return Status::NotFound("Namespace " + call.id + " not found");
  GLINT_RETURN_IF_ERROR(access_.Policy(PoliciesOf(kind).modify, call.ctx, *ns));
  auto old = api_.catalog.GetMetadefItem(kind, ns->name, call.arg);
  if (!old.ok()) return old.status();
  auto item = FromBody(call, kind, ns->name);
  if (!item.ok()) return item.status();
  item->created_at = old->created_at;
  GLINT_RETURN_IF_ERROR(api_.catalog.UpdateMetadefItem(old->name, *item));
  NotifyMetadefItem(api_, "update", *item, old->name);
  return JsonResponse(200, ItemJson(*item));
}

Result<HttpResponse> MetadefItemsHandler::Delete(const Call& call, MetadefKind kind) {
  auto ns = access_.Visible(call.ctx, call.id);
  if (!ns.ok()) return Status::NotFound("Namespace " + call.id + " not found");
  GLINT_RETURN_IF_ERROR(access_.Policy(PoliciesOf(kind).remove, call.ctx, *ns));
  auto item = api_.catalog.GetMetadefItem(kind, ns->name, call.arg);
  if (!item.ok()) return item.status();
  if (ns->is_protected) {
    const char* what = kind == MetadefKind::kObject ? "object" : kind == MetadefKind::kProperty ? "property" : "tag";
    return Status::PermissionDenied(std::string("Metadata definition ") + what + " " + call.arg +
                                    " is protected and cannot be deleted.");
  }
  GLINT_RETURN_IF_ERROR(api_.catalog.DeleteMetadefItem(kind, ns->name, call.arg));
  NotifyMetadefItem(api_, "delete", *item);
  return NoContent();
}

}  // namespace glint::control
