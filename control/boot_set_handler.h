// BootSetHandler: the learned boot sets of images, a Glint extension of the image API
// (docs/api-differences.md). glint-fs reports which chunks an image read while it booted
// on its host (POST /v2/images/{id}/x-glint-boot-set) and asks for the set merged from
// every host's reports (GET) to prefetch it. Both need what reading the image's manifest
// needs (download_image on a visible image with data); control/boot_set.h says how one
// reporter's influence is bounded. Worker threads.
#pragma once

#include "control/api_context.h"
#include "control/boot_set.h"
#include "control/image_access.h"

namespace glint::control {

class BootSetHandler {
 public:
  explicit BootSetHandler(ApiContext& api) : api_(api), access_(api), policy_(api.config.boot_sets) {}
  // POST: 204; 400 for a malformed or out-of-range report; 429 (with Retry-After) when
  // the host reported this image less than [glint] boot_set_report_interval ago.
  Result<HttpResponse> Report(const Call& call);
  // GET: {"image_id", "chunk_size", "reports", "reporters", "chunks": [ascending]}.
  Result<HttpResponse> Merged(const Call& call);

 private:
  // The image if the caller may read its data (as GET .../x-glint-manifest).
  Result<catalog::ImageRecord> Readable(const Call& call);
  ApiContext& api_;
  ImageAccess access_;
  const BootSetPolicy policy_;  // [glint] boot_set_* (Config)
};

}  // namespace glint::control
