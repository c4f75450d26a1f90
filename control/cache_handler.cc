#include "control/cache_handler.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "cache/image_cache.h"
#include "control/json_body.h"

namespace glint::control {

using nlohmann::json;

namespace {

json CachedJson(cache::ImageCache& cache) {
  json cached = json::array();
  for (const auto& c : cache.Cached()) {
    cached.push_back({{"image_id", c.image_id},
                      {"hits", c.hits},
                      {"last_accessed", c.last_accessed},
                      {"last_modified", c.last_modified},
                      {"size", c.size}});
  }
  return cached;
}

}  // namespace

Status CacheHandler::Enabled() const {
  if (!api_.image_cache) return Status::NotFound("Caching via API is not supported at this site.");
  return Status::Ok();
}

Result<HttpResponse> CacheHandler::List(const Call& call) {
  GLINT_RETURN_IF_ERROR(access_.Policy("cache_list", call.ctx, {}));
  GLINT_RETURN_IF_ERROR(Enabled());
  return JsonResponse(200, {{"cached_images", CachedJson(*api_.image_cache)},
                            {"queued_images", api_.image_cache->Queued()}});
}

Result<HttpResponse> CacheHandler::Queue(const Call& call) {
  auto img = access_.Visible(call.ctx, call.id);
  if (!img.ok()) {
    if (img.status().code() == Status::Code::kNotFound) return Status::NotFound("Image " + call.id + " not found.");
    return img.status();
  }
  GLINT_RETURN_IF_ERROR(access_.PolicyOn("cache_image", call.ctx, *img));
  GLINT_RETURN_IF_ERROR(Enabled());
  if (img->status != catalog::kActive) {
    return Status::InvalidArgument("Only images with status active can be targeted for queueing");
  }
  api_.image_cache->Queue(img->id);
  return EmptyResponse(202);
}

// An image the caller cannot see (or a deleted one) may still be removed from the cache
// and the queue when it is there, as in Glance.
Result<HttpResponse> CacheHandler::DeleteOne(const Call& call) {
  auto img = access_.Visible(call.ctx, call.id);
  if (!img.ok() && img.status().code() != Status::Code::kNotFound) return img.status();
  cache::ImageCache* cache = api_.image_cache;
  if (!img.ok() && (!cache || (!cache->IsQueued(call.id) && !cache->IsCached(call.id)))) {
    return Status::NotFound("Image " + call.id + " not found.");
  }
  GLINT_RETURN_IF_ERROR(img.ok() ? access_.PolicyOn("cache_delete", call.ctx, *img)
                                 : access_.Policy("cache_delete", call.ctx, {}));
  GLINT_RETURN_IF_ERROR(Enabled());
  cache->DeleteCached(call.id);
  cache->DeleteQueued(call.id);
  return EmptyResponse(204);
}

Result<HttpResponse> CacheHandler::Clear(const Call& call) {
  GLINT_RETURN_IF_ERROR(access_.Policy("cache_delete", call.ctx, {}));
  GLINT_RETURN_IF_ERROR(Enabled());
  std::string target(call.req.Header("x-image-cache-clear-target"));
  std::transform(target.begin(), target.end(), target.begin(), [](unsigned char c) { return std::tolower(c); });
  if (target != "" && target != "cache" && target != "queue") {
    return Status::InvalidArgument("If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string.");
  }
  if (target != "queue") api_.image_cache->DeleteAllCached();
  if (target != "cache") api_.image_cache->DeleteAllQueued();
  return EmptyResponse(204);
}

}  // namespace glint::control
