// StoresInfoHandler: the site's facts: GET /v2/info/stores[/detail] (multi-store),
// DELETE /v2/stores/{store}/{id} (drop one copy of an image's data), GET /v2/info/usage
// (quotas) and GET /v2/info/import (import methods). Worker threads.
#pragma once

#include "control/api_context.h"
#include "control/image_access.h"
#include "control/quotas.h"

namespace glint::control {

class StoresInfoHandler {
 public:
  explicit StoresInfoHandler(ApiContext& api) : api_(api), access_(api), quotas_(api) {}
  Result<HttpResponse> Stores(const Call& call);
  Result<HttpResponse> DeleteFromStore(const Call& call);
  Result<HttpResponse> Usage(const Call& call);
  Result<HttpResponse> ImportInfo(const Call& call);

 private:
  ApiContext& api_;
  ImageAccess access_;
  Quotas quotas_;
};

}  // namespace glint::control
