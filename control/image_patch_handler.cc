#include "control/image_patch_handler.h"

#include "control/http_errors.h"
#include "control/image_attributes.h"
#include "control/image_json.h"
#include "control/image_modify.h"
#include "control/json_body.h"
#include "control/json_patch.h"
#include "control/protected_properties.h"

namespace glint::control {

using catalog::ImageRecord;

namespace {

Status ApplyChange(const PatchChange& ch, ImageRecord& img) {
  bool base = kBase.count(ch.root) > 0;
  if ((ch.root == "disk_format" || ch.root == "container_format") && ch.op != "remove" &&
      img.status != catalog::kQueued) {
    return Status::PermissionDenied("Attribute " + ch.root + " can be only replaced for a queued image.");
  }
  if (ch.op == "remove") {
    if (base) return Status::PermissionDenied("Property " + ch.root + " may not be removed.");
    if (!img.properties.erase(ch.root)) return Status::Conflict("Property " + ch.root + " does not exist.");
    return Status::Ok();
  }
  if (ch.op == "replace" && !base && !img.properties.count(ch.root)) {
    return Status::Conflict("Property " + ch.root + " does not exist.");
  }
  return SetAttribute(img, ch.root, ch.value);
}

}  // namespace

Result<HttpResponse> ImagePatchHandler::Patch(const Call& call) {
  auto dialect = PatchDialectOf(call.req.Header("content-type"));
  if (!dialect.ok()) {
    HttpResponse r = ErrorResponse(dialect.status());
    r.Set("Accept-Patch", "application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch");
    return r;
  }
  auto body = ParseJsonBody(call.req.body);
  if (!body.ok()) return body.status();
  if (!body->is_array()) return Status::InvalidArgument("Request body must be a JSON array of operation objects.");
  // Tempest and older clients send location changes in the v2.0 dialect too.
  nlohmann::json v21 = *dialect == PatchDialect::kV21 ? *body : NormalizeToV21(*body);
  if (IsLocationsPatch(v21)) return locations_.Patch(call, v21);
  std::vector<PatchChange> changes;
  for (const auto& op : *body) {
    auto ch = ParsePatchChange(op, *dialect, call.ctx.is_admin);
    if (!ch.ok()) return ch.status();
    changes.push_back(std::move(ch).value());
  }
  auto updated = ModifyImage(api_, access_, call.ctx, call.id, [&](ImageRecord& img) -> Status {
    GLINT_RETURN_IF_ERROR(ImageAccess::MayModify(call.ctx, img));
    GLINT_RETURN_IF_ERROR(access_.PolicyOn("modify_image", call.ctx, img));
    for (const auto& ch : changes) {
      if (ch.root == "visibility" && ch.value.is_string()) {
        GLINT_RETURN_IF_ERROR(access_.MaySetVisibility(call.ctx, ch.value.get<std::string>(), img));
      }
      GLINT_RETURN_IF_ERROR(CheckPropertyChange(api_.protections.get(), call.ctx, img, ch));
      GLINT_RETURN_IF_ERROR(ApplyChange(ch, img));
    }
    return Status::Ok();
  });
  if (!updated.ok()) return updated.status();
  return ImageResponse(200, *updated, api_.ImageJson(call.ctx));
}

}  // namespace glint::control
