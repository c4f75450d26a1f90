#include "control/metadef_types_handler.h"

#include "common/ids.h"
#include "control/json_body.h"
#include "control/metadef_notifications.h"

namespace glint::control {

using nlohmann::json;

Result<HttpResponse> MetadefTypesHandler::ListTypes(const Call& call) {
  GLINT_RETURN_IF_ERROR(access_.Policy("list_metadef_resource_types", call.ctx));
  auto types = api_.catalog.ListMetadefResourceTypes();
  if (!types.ok()) return types.status();
  json list = json::array();
  for (const auto& t : *types) {
    list.push_back({{"name", t.name},
                    {"created_at", FormatIsoSeconds(t.created_at)},
                    {"updated_at", FormatIsoSeconds(t.updated_at)}});
  }
  return JsonResponse(200, {{"resource_types", list}});
}

Result<HttpResponse> MetadefTypesHandler::ListAssociations(const Call& call) {
  auto ns = access_.Visible(call.ctx, call.id);
  if (!ns.ok()) return ns.status();
  GLINT_RETURN_IF_ERROR(access_.Policy("get_metadef_resource_type", call.ctx, *ns));
  auto assoc = api_.catalog.ListMetadefAssociations(ns->name);
  if (!assoc.ok()) return assoc.status();
  json list = json::array();
  for (const auto& a : *assoc) list.push_back(MetadefAssociationJson(a));
  return JsonResponse(200, {{"resource_type_associations", list}});
}

Result<HttpResponse> MetadefTypesHandler::Associate(const Call& call) {
  auto ns = access_.Visible(call.ctx, call.id);
  if (!ns.ok()) return Status::NotFound("Namespace " + call.id + " not found");
  GLINT_RETURN_IF_ERROR(access_.Policy("add_metadef_resource_type_association", call.ctx, *ns));
  auto body = ParseJsonBody(call.req.body);
  if (!body.ok()) return body.status();
  if (!body->is_object()) return Status::InvalidArgument("Request body must be a JSON object.");
  GLINT_RETURN_IF_ERROR(CheckMetadefName(body->value("name", json()), "resource type name", 80));
  int64_t now = api_.Now();
  catalog::MetadefAssociation a{ns->name, (*body)["name"].get<std::string>(), std::nullopt, std::nullopt, now, now};
  for (const char* key : {"prefix", "properties_target"}) {
    if (!body->contains(key) || (*body)[key].is_null()) continue;
    if (!(*body)[key].is_string() || (*body)[key].get<std::string>().size() > 80) {
      return Status::InvalidArgument(std::string("Invalid value for '") + key + "'.");
    }
    (std::string(key) == "prefix" ? a.prefix : a.properties_target) = (*body)[key].get<std::string>();
  }
  GLINT_RETURN_IF_ERROR(api_.catalog.CreateMetadefAssociation(a));
  NotifyMetadefAssociation(api_, "create", a);
  return JsonResponse(201, MetadefAssociationJson(a));
}

Result<HttpResponse> MetadefTypesHandler::Dissociate(const Call& call) {
  auto ns = access_.Visible(call.ctx, call.id);
  if (!ns.ok()) return Status::NotFound("Namespace " + call.id + " not found");
  GLINT_RETURN_IF_ERROR(access_.Policy("remove_metadef_resource_type_association", call.ctx, *ns));
  if (ns->is_protected) {
    return Status::PermissionDenied("Metadata definition resource-type-association " + call.arg +
                                    " is protected and cannot be deleted.");
  }
  // The association as it was, for the announcement (Glance's payload carries its prefix).
  catalog::MetadefAssociation gone{ns->name, call.arg, std::nullopt, std::nullopt, 0, 0};
  if (api_.notifier) {
    auto all = api_.catalog.ListMetadefAssociations(ns->name);
    for (const auto& a : all.ok() ? *all : std::vector<catalog::MetadefAssociation>{}) {
      if (a.resource_type == call.arg) gone = a;
    }
  }
  GLINT_RETURN_IF_ERROR(api_.catalog.DeleteMetadefAssociation(ns->name, call.arg));
  NotifyMetadefAssociation(api_, "delete", gone);
  return NoContent();
}

}  // namespace glint::control
