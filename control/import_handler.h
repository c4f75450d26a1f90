// ImportHandler: interoperable image import. POST /v2/images/{id}/import starts a
// glance-direct import of staged data, a web-download, or a copy-image into more stores (recorded as a
// task, run by ImportJobs on the worker pool, answered 202); GET /v2/images/{id}/tasks
// shows the image's tasks. Staging itself is an upload (ImageDataHandler).
#pragma once

#include <nlohmann/json.hpp>

#include "control/api_context.h"
#include "control/image_access.h"
#include "control/import_jobs.h"

namespace glint::control {

class ImportHandler {
 public:
  explicit ImportHandler(ApiContext& api) : api_(api), access_(api) {}
  Result<HttpResponse> Import(const Call& call);
  Result<HttpResponse> Tasks(const Call& call);

 private:
  Result<HttpResponse> WebDownload(const Call& call, const nlohmann::json& body);
  Result<HttpResponse> CopyImage(const Call& call, const nlohmann::json& body);
  // The stores an import writes, in order (Glance's rules: `all_stores` = every writable
  // store, else `stores`, else X-Image-Meta-Store, else the default); the first one gets
  // the data from its source, the others a copy once the image is active.
  Result<ImportTargets> Targets(const HttpRequest& req, const nlohmann::json& body);
  // Creates the import task (holding `lock.token` as its lock when it copies to more
  // stores) and shows the stores as importing.
  Result<catalog::TaskRecord> StartTask(const Call& call, const nlohmann::json& body, const catalog::UploadLock& lock,
                                        const ImportTargets& targets);
  ApiContext& api_;
  ImageAccess access_;
};

}  // namespace glint::control
