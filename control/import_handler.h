// ImportHandler: interoperable image import. POST /v2/images/{id}/import starts a
// glance-direct import of staged data, a web-download, or a copy-image into more stores (recorded as a
// task, run by ImportJobs on the worker pool, answered 202); GET /v2/images/{id}/tasks
// shows the image's tasks. Staging itself is an upload (ImageDataHandler).
#pragma once

#include <nlohmann/json.hpp>

#include "control/api_context.h"
#include "control/image_access.h"

namespace glint::control {

class ImportHandler {
 public:
  explicit ImportHandler(ApiContext& api) : api_(api), access_(api) {}
  Result<HttpResponse> Import(const Call& call);
  Result<HttpResponse> Tasks(const Call& call);

 private:
  Result<HttpResponse> WebDownload(const Call& call, const nlohmann::json& body);
  Result<HttpResponse> CopyImage(const Call& call, const nlohmann::json& body);
  // Which store an import goes to: `stores` (one), X-Image-Meta-Store, else the default.
  Result<store::Backend*> Target(const HttpRequest& req, const nlohmann::json& body);
  ApiContext& api_;
  ImageAccess access_;
};

}  // namespace glint::control
