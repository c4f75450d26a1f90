// ImageDataHandler: an image's data. GET /v2/images/{id}/file streams it (whole or one
// byte range) from the first readable location; GET .../x-glint-manifest describes it
// chunk by chunk; PUT /v2/images/{id}/file and
// PUT /v2/images/{id}/stage start an UploadSession after authorising the caller,
// validating the request and taking the image's upload lock in the catalog. Worker threads.
#pragma once

#include <memory>
#include <optional>
#include <variant>

#include "control/api_context.h"
#include "control/image_access.h"
#include "control/quotas.h"
#include "control/upload_session.h"

namespace glint::control {

class ImageDataHandler {
 public:
  explicit ImageDataHandler(ApiContext& api) : api_(api), access_(api), quotas_(api) {}
  Result<HttpResponse> Download(const Call& call);
  // GET /v2/images/{id}/x-glint-manifest (a Glint extension): the image's chunk manifest,
  // to whoever may download the image; 404 while it has none.
  Result<HttpResponse> Manifest(const Call& call);
  // `stage`: PUT .../stage (glance-direct), else PUT .../file.
  Result<std::shared_ptr<UploadSession>> BeginUpload(const Call& call, bool stage,
                                                     std::optional<uint64_t> content_length);

 private:
  Result<std::shared_ptr<UploadSession>> BeginStage(const Call& call, const catalog::ImageRecord& img,
                                                    std::optional<uint64_t> content_length);
  // The size cap of this upload: image_size_cap, lowered by the project's quota headroom.
  Result<int64_t> UploadSizeCap(const Call& call, std::optional<uint64_t> content_length);
  Result<store::Backend*> UploadTarget(const HttpRequest& req);
  ApiContext& api_;
  ImageAccess access_;
  Quotas quotas_;
};

}  // namespace glint::control
