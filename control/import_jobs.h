// The background half of interoperable import: the jobs that run on the worker pool after
// POST /v2/images/{id}/import answered 202. An import streams the staged data into its
// store (hashing it) and activates the image; a copy streams an active image's data into
// more stores and adds a location per store. Both hold a catalog lock (renewed while they
// copy) so any node can see, and after a crash recover, what they were doing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "catalog/catalog.h"
#include "control/api_context.h"
#include "format/verdict.h"

namespace glint::control {

// What this site imports with (enabled_import_methods): glance-direct, web-download, and
// copy-image between several stores.
std::vector<std::string> ImportMethods(const ApiContext& api);
// The store id under which `backend` is configured.
std::string StoreIdOf(const ApiContext& api, store::Backend& backend);
// An api_image_import task as Glance records it (input: the request and the stores).
catalog::TaskRecord NewImportTask(const ApiContext& api, const auth::RequestContext& ctx, const HttpRequest& req,
                                  const std::string& image_id, const std::string& body_json,
                                  const std::string& backends_json);

// The stores an import writes: `first` gets the data from its source (staging, a URL),
// then each further id of `ids` (ids[0] names `first` on a multi-store node) a copy.
struct ImportTargets {
  store::Backend* first = nullptr;
  std::vector<std::string> ids;
  bool must_succeed = true;  // all_stores_must_succeed
};

class ImportJobs {
 public:
  explicit ImportJobs(ApiContext& api) : api_(api) {}
  // Staged data -> `target`, then the image becomes active. On failure the image goes
  // back to `uploading` (the staged data stays, to be imported again) and the task says why;
  // staged data whose format is refused is deleted and the image goes back to `queued`.
  void RunImport(const catalog::UploadLock& lock, const std::string& task_id, store::Backend& target,
                 const format::Declared& declared, const ImportTargets& targets = {});
  // After the first store made the image active: copies to the other stores of `targets`
  // (under the task's lock, whose token is `token`), records progress on the image and
  // finishes the task: success, or failure when a store failed and all must succeed.
  void FinishStores(const std::string& image_id, const std::string& task_id, const std::string& token,
                    const ImportTargets& targets, const std::string& message);
  // The import failed before any store held the data: every store leaves the importing
  // list, the first joins the failed list.
  void StoresFailed(const std::string& image_id, const ImportTargets& targets);
  // An active image's data -> each of `targets`; md5-checked copies become locations.
  void RunCopy(const catalog::TaskRecord& task, const std::vector<std::string>& targets,
               const catalog::ImageRecord& img);

 private:
  Status CopyTo(const catalog::TaskRecord& task, const std::string& target_id, const catalog::ImageRecord& img,
                int64_t* copied);
  void FailImport(const catalog::UploadLock& lock, const std::string& task_id, const Status& why,
                  const ImportTargets& targets);
  // The staged data was refused: it is deleted, the image back to queued, the task failed.
  void RefuseImport(const catalog::UploadLock& lock, const std::string& task_id, const Status& why,
                    const ImportTargets& targets);
  ApiContext& api_;
};

}  // namespace glint::control
