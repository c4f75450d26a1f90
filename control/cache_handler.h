// Glance's cache management API (image API 2.14+), for this node's image cache
// (cache/image_cache.h): GET /v2/cache (cached and queued images), PUT /v2/cache/{id}
// (queue an active image; 202, prefetched in the background), DELETE /v2/cache/{id} (from
// the cache and the queue) and DELETE /v2/cache (x-image-cache-clear-target: cache, queue
// or both). Policies cache_list, cache_image and cache_delete (admin by default), checked
// before anything else as Glance does; with no image_cache_dir each route then answers
// 404, as Glance does. The cache and its queue are this node's own.
#pragma once

#include "control/api_context.h"
#include "control/image_access.h"

namespace glint::control {

class CacheHandler {
 public:
  explicit CacheHandler(ApiContext& api) : api_(api), access_(api) {}
  Result<HttpResponse> List(const Call& call);
  Result<HttpResponse> Queue(const Call& call);
  Result<HttpResponse> DeleteOne(const Call& call);
  Result<HttpResponse> Clear(const Call& call);

 private:
  // 404 when this node has no image cache.
  Status Enabled() const;
  ApiContext& api_;
  ImageAccess access_;
};

}  // namespace glint::control
