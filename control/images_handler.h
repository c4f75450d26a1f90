// ImagesHandler: the image collection and the image resource: create (POST /v2/images),
// list (GET /v2/images, conditional on the catalog generation), show and delete
// (/v2/images/{id}). Runs on worker threads. List bodies are kept per catalog generation
// (list_cache.h).
#pragma once

#include "control/api_context.h"
#include "control/data_sweeper.h"
#include "control/image_access.h"
#include "control/list_cache.h"
#include "control/quotas.h"

namespace glint::control {

class ImagesHandler {
 public:
  explicit ImagesHandler(ApiContext& api)
      : api_(api),
        access_(api),
        quotas_(api),
        sweeper_(api),
        list_cache_(kListCacheEntries, static_cast<size_t>(api.config.list_cache_mib) << 20) {}
  Result<HttpResponse> Create(const Call& call);
  Result<HttpResponse> List(const Call& call);
  Result<HttpResponse> Show(const Call& call);
  Result<HttpResponse> Delete(const Call& call);

 private:
  Result<catalog::ImageRecord> NewImageFrom(const auth::RequestContext& ctx, const nlohmann::json& body);
  ApiContext& api_;
  ImageAccess access_;
  Quotas quotas_;
  DataSweeper sweeper_;
  static constexpr size_t kListCacheEntries = 1024;
  ListCache list_cache_;
};

}  // namespace glint::control
