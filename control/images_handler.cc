#include "cache/image_cache.h"
#include "control/images_handler.h"

#include <algorithm>

#include "common/ids.h"
#include "control/image_attributes.h"
#include "control/image_json.h"
#include "control/import_jobs.h"
#include "control/json_body.h"
#include "control/json_writer.h"
#include "control/list_query.h"
#include "control/list_cache.h"
#include "control/notifications.h"
#include "control/protected_properties.h"
#include "control/stage_host.h"

namespace glint::control {

using catalog::ImageRecord;
using nlohmann::json;

Result<ImageRecord> ImagesHandler::NewImageFrom(const auth::RequestContext& ctx, const json& body) {
  if (!body.is_object()) return Status::InvalidArgument("Body must be a JSON object describing the image.");
  ImageRecord img;
  img.id = NewUuid();
  img.owner = ctx.project_id;
  for (const auto& [key, value] : body.items()) {
    if (kDisallowed.count(key) || (kReadOnly.count(key) && key != "id")) {
      return Status::PermissionDenied("Attribute '" + key + "' is read-only.");
    }
    if (kReserved.count(key) || IsReservedNamespace(key)) {
      return Status::PermissionDenied("Attribute '" + key + "' is reserved.");
    }
    if (key == "locations") {
      return Status::PermissionDenied("It's not allowed to add locations if locations are invisible.");
    }
    if (key == "owner" && !ctx.is_admin &&
        !(value.is_string() && ctx.project_id && value.get<std::string>() == *ctx.project_id)) {
      return Status::PermissionDenied("You are not permitted to create images owned by '" + DumpJson(value) + "'.");
    }
    GLINT_RETURN_IF_ERROR(SetAttribute(img, key, value));
  }
  if (static_cast<int>(img.properties.size()) > api_.config.image_property_quota) {
    return Status::TooLarge("Maximum number of properties exceeded (" +
                            std::to_string(api_.config.image_property_quota) + ")");
  }
  return img;
}

Result<HttpResponse> ImagesHandler::Create(const Call& call) {
  auto body = ParseJsonBody(call.req.body);
  if (!body.ok()) return body.status();
  auto img = NewImageFrom(call.ctx, *body);
  if (!img.ok()) return img.status();
  GLINT_RETURN_IF_ERROR(access_.PolicyOn("add_image", call.ctx, *img));
  GLINT_RETURN_IF_ERROR(CheckNewProperties(api_.protections.get(), call.ctx, *img));
  GLINT_RETURN_IF_ERROR(access_.MaySetVisibility(call.ctx, img->visibility, *img));
  if (static_cast<int>(img->tags.size()) > api_.config.image_tag_quota) {
    return Status::TooLarge("Maximum number of tags exceeded (" + std::to_string(api_.config.image_tag_quota) + ")");
  }
  GLINT_RETURN_IF_ERROR(quotas_.Check(call.ctx, "image_count_total", 1));
  img->created_at = img->updated_at = api_.Now();
  GLINT_RETURN_IF_ERROR(api_.catalog.CreateImage(*img));
  NotifyImage(api_, "image.create", *img);
  HttpResponse r = ImageResponse(201, *img, api_.ImageJson(call.ctx));
  r.Set("Location", api_.BaseUrl(call.req) + "/v2/images/" + img->id);
  std::string methods;
  for (const auto& m : ImportMethods(api_)) methods += (methods.empty() ? "" : ",") + m;
  r.Set("OpenStack-image-import-methods", methods);
  if (api_.stores.multi_store()) {
    std::string ids;
    for (const auto& e : api_.stores.entries()) ids += (ids.empty() ? "" : ",") + e.id;
    r.Set("OpenStack-image-store-ids", ids);
  }
  return r;
}

Result<HttpResponse> ImagesHandler::Show(const Call& call) {
  auto img = access_.Visible(call.ctx, call.id);
  if (!img.ok()) return img.status();
  return ImageResponse(200, *img, api_.ImageJson(call.ctx));
}

namespace {

std::string ListBody(const Call& call, const catalog::ListQuery& q, const std::vector<ImageRecord>& images,
                     const ImageJsonOptions& options) {
  std::string params;
  for (const auto& [k, v] : call.req.query) {
    if (k != "marker") params += (params.empty() ? "" : "&") + UrlEncode(k) + "=" + UrlEncode(v);
  }
  std::string body;
  body.reserve(1024 + images.size() * 900);
  JsonWriter w(body);
  w.BeginObject();
  w.Key("images");
  w.BeginArray();
  for (const auto& img : images) WriteImage(w, img, options);
  w.EndArray();
  w.Key("first");
  w.String(params.empty() ? "/v2/images" : "/v2/images?" + params);
  w.Key("schema");
  w.String("/v2/schemas/images");
  if (!images.empty() && static_cast<int>(images.size()) == q.limit) {
    w.Key("next");
    w.String("/v2/images?" + params + (params.empty() ? "" : "&") + "marker=" + images.back().id);
  }
  w.EndObject();
  return body;
}

}  // namespace

Result<HttpResponse> ImagesHandler::List(const Call& call) {
  auth::PolicyTarget lt;
  if (call.ctx.project_id) lt["project_id"] = *call.ctx.project_id;
  GLINT_RETURN_IF_ERROR(access_.Policy("get_images", call.ctx, lt));
  auto q = ParseListQuery(call.req.query, api_.config.limit_param_default, api_.config.api_limit_max);
  if (!q.ok()) return q.status();
  q->viewer.is_admin = call.ctx.is_admin;
  q->viewer.project_id = call.ctx.project_id;
  // Conditional listing: the catalog generation is the validator. It is read before the
  // listing, so a change racing with it makes the next poll fetch again (never miss).
  auto generation = api_.catalog.Generation();
  if (!generation.ok()) return generation.status();
  std::string etag = "\"g" + std::to_string(*generation) + "\"";
  std::string_view inm = call.req.Header("if-none-match");
  if (!inm.empty() && (inm == etag || inm == "W/" + etag)) {
    HttpResponse r = EmptyResponse(304);
    r.Set("ETag", etag);
    return r;
  }
  // The same listing asked again at the same generation: the body built the first time.
  const std::string key = ListCacheKey(call.ctx, call.req.query);
  std::shared_ptr<const std::string> body = list_cache_.Find(*generation, key);
  if (!body) {
    // Filtering on a property the caller may not read would reveal its values: no match.
    bool hidden_filter = api_.protections && std::any_of(q->properties.begin(), q->properties.end(), [&](const auto& p) {
      return !api_.protections->Allowed(p.first, auth::PropertyOp::kRead, call.ctx);
    });
    auto images =
        hidden_filter ? Result<std::vector<ImageRecord>>(std::vector<ImageRecord>{}) : api_.catalog.ListImages(*q);
    if (!images.ok()) return images.status();
    body = std::make_shared<const std::string>(ListBody(call, *q, *images, api_.ImageJson(call.ctx)));
    list_cache_.Store(*generation, key, body);
  }
  HttpResponse r;
  r.body = *body;
  r.Set("Content-Type", "application/json");
  r.Set("ETag", etag);
  return r;
}

Result<HttpResponse> ImagesHandler::Delete(const Call& call) {
  auto img = access_.Visible(call.ctx, call.id);
  if (!img.ok()) return img.status();
  GLINT_RETURN_IF_ERROR(ImageAccess::MayModify(call.ctx, *img));
  GLINT_RETURN_IF_ERROR(access_.PolicyOn("delete_image", call.ctx, *img));
  if (img->is_protected) return Status::PermissionDenied("Image " + img->id + " is protected and cannot be deleted.");
  if (auto host = ForeignStageHost(api_.config, *img, call.req)) {
    // Staged on another node: that node deletes it with its staged data (as Glance does).
    // When it cannot (unreachable, 5xx) the image is deleted here all the same; the staged
    // data then waits for that node's sweep.
    auto forwarded = ForwardToStageHost(*host, SelfReferenceUrl(api_.config), call.req);
    if (forwarded.ok() && forwarded->status < 500) return forwarded;
    img = access_.Visible(call.ctx, call.id);
    if (!img.ok()) return img.status();
  }
  // Refuse while the data is in use (RBD clones, open images) and keep everything.
  for (const auto& loc : img->locations) {
    store::Backend* owner = api_.stores.Owner(loc.url);
    if (owner) GLINT_RETURN_IF_ERROR(owner->CheckDeletable(loc.url));
  }
  auto before = api_.catalog.DeleteImage(img->id);
  if (!before.ok()) return before.status();
  sweeper_.RemoveData(*before);
  if (api_.image_cache) {  // as Glance's cache middleware does on a delete
    api_.image_cache->DeleteCached(img->id);
    api_.image_cache->DeleteQueued(img->id);
  }
  ImageRecord gone = *before;
  gone.status = "deleted";
  NotifyImage(api_, "image.delete", gone);
  return EmptyResponse(204);
}

}  // namespace glint::control
