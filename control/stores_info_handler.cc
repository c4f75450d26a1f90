#include "control/stores_info_handler.h"

#include <spdlog/spdlog.h>

#include "control/import_jobs.h"
#include "control/json_body.h"

namespace glint::control {

using nlohmann::json;

Result<HttpResponse> StoresInfoHandler::Stores(const Call& call) {
  const auth::RequestContext& ctx = call.ctx;
  const bool detail = call.arg == "detail";
  if (!api_.stores.multi_store()) return Status::NotFound("Multi backend is not supported at this site.");
  if (detail) {
    if (Status p = access_.Policy("stores_info_detail", ctx, {}); !p.ok()) return p;
  }
  json list = json::array();
  for (const auto& e : api_.stores.entries()) {
    json j = {{"id", e.id}};
    if (e.is_default) j["default"] = true;
    if (e.type == "http") j["read-only"] = "true";  // as Glance marks its http store
    if (detail) {
      j["type"] = e.type;
      j["properties"] = json::object();
    }
    list.push_back(j);
  }
  return JsonResponse(200, {{"stores", list}});
}

Result<HttpResponse> StoresInfoHandler::DeleteFromStore(const Call& call) {
  const auth::RequestContext& ctx = call.ctx;
  const std::string& store_id = call.arg;
  const std::string& id = call.id;
  if (!api_.stores.multi_store()) return Status::NotFound("Multi backend is not supported at this site.");
  store::Backend* backend = api_.stores.Find(store_id);
  if (!backend) return Status::NotFound("Unknown store: " + store_id);
  auto img = access_.Visible(ctx, id);
  if (!img.ok()) return img.status();
  if (Status may = ImageAccess::MayModify(ctx, *img); !may.ok()) return may;
  if (Status p = access_.PolicyOn("delete_image_location", ctx, *img); !p.ok()) return p;
  if (img->status != catalog::kActive) {
    return Status::Conflict("It's not allowed to remove image data from store if image status is " + img->status);
  }
  const catalog::ImageLocation* found = nullptr;
  for (const auto& loc : img->locations) {
    if (backend->OwnsLocation(loc.url)) found = &loc;
  }
  if (!found) return Status::NotFound("Image " + img->id + " is not in store " + store_id);
  if (img->locations.size() == 1) {
    return Status::PermissionDenied("Cannot delete image data from the only store containing it. "
                              "Consider deleting the image instead.");
  }
  if (Status s = backend->CheckDeletable(found->url); !s.ok()) return s;
  std::string url = found->url;
  GLINT_RETURN_IF_ERROR(api_.catalog.RemoveLocation(img->id, url));
  auto shared = api_.catalog.LocationReferenced(url, img->id);
  if (shared.ok() && !*shared) {
    if (Status s = backend->Delete(url); !s.ok()) spdlog::error("image {}: {}", img->id, s.ToString());
  }
  return EmptyResponse(204);
}

Result<HttpResponse> StoresInfoHandler::Usage(const Call& call) {
  auto usage = quotas_.Usage(call.ctx);
  if (!usage.ok()) return usage.status();
  return JsonResponse(200, {{"usage", *usage}});
}

Result<HttpResponse> StoresInfoHandler::ImportInfo(const Call&) {
  return JsonResponse(200, {{"import-methods",
                             {{"description", "Import methods available."}, {"type", "array"},
                              {"value", ImportMethods(api_)}}}});
}

}  // namespace glint::control
