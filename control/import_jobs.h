// The background half of interoperable import: the jobs that run on the worker pool after
// POST /v2/images/{id}/import answered 202. An import streams the staged data into its
// store (hashing it) and activates the image; a copy streams an active image's data into
// more stores and adds a location per store. Both hold a catalog lock (renewed while they
// copy) so any node can see, and after a crash recover, what they were doing.
#pragma once

#include <map>
#include <memory>
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

// What an import does besides copying the staged data (import_plugins.h).
struct ImportPlan {
  format::Declared declared;                  // the image's formats when the import began
  std::map<std::string, std::string> inject;  // inject_image_metadata's properties
  bool staged_by_download = false;            // web-download staged it: failure means queued
  ImportTargets targets;                      // where the data goes
  int64_t data_cap = 0;                       // bytes a plugin's output may take (DataCapOf)
};

// What decompressed data may take: image_size_cap, and the project's image_stage_total
// headroom plus the staged data it replaces (`staged`), as Glance decompresses in place.
int64_t DataCapOf(ApiContext& api, const auth::RequestContext& ctx, int64_t staged);

class ImportJobs {
 public:
  explicit ImportJobs(ApiContext& api) : api_(api) {}
  // Staged data -> (import plugins) -> `target`, then the image becomes active. On failure
  // (a conversion over its limits too) the image goes back to `uploading` (the staged data
  // stays, to be imported again) and the task says why; staged data whose format is refused,
  // and any failure of data a web-download staged, is deleted and the image goes back to `queued`.
  void RunImport(const catalog::UploadLock& lock, const std::string& task_id, store::Backend& target,
                 const ImportPlan& plan);
  // After the first store made the image active: copies to the other stores of `targets`
  // (under the task's lock, whose token is `token`), records progress on the image and
  // finishes the task: success, or failure when a store failed and all must succeed.
  void FinishStores(const std::string& image_id, const std::string& task_id, const std::string& token,
                    const ImportTargets& targets, const std::string& message);
  // The import failed and no store keeps the data: every store leaves the importing list,
  // the one at index `failed` of targets.ids joins the failed list.
  void StoresFailed(const std::string& image_id, const ImportTargets& targets, size_t failed = 0);
  // An active image's data -> each of `targets`; md5-checked copies become locations.
  void RunCopy(const catalog::TaskRecord& task, const std::vector<std::string>& targets,
               const catalog::ImageRecord& img);

 private:
  Status CopyTo(const catalog::TaskRecord& task, const std::string& target_id, const catalog::ImageRecord& img,
                int64_t* copied);
  struct Source {
    std::unique_ptr<store::Reader> reader;
    format::Declared declared;
    std::optional<std::string> converted_to;  // the new disk_format after image_conversion
  };
  struct Stored {
    catalog::ImageRecord facts;
    catalog::ImageLocation location;
    std::optional<ChunkManifest> manifest;  // built while the data streamed
    std::vector<catalog::ImageLocation> copies;  // in the further stores (all_stores_must_succeed)
  };
  // Renews the image's lock and, for an import to several stores, the task's.
  Status RenewImport(const catalog::UploadLock& lock, const std::string& task_id, bool renew_task);
  // all_stores_must_succeed: copies the data `stored` holds into every further store of
  // `targets` before the image becomes active; `failed_at` gets the index of a store that failed.
  Status StoreCopies(const catalog::UploadLock& lock, const std::string& task_id, const ImportTargets& targets,
                     Stored* stored, size_t* failed_at);
  // Deletes the data an import committed (no catalog row names it yet).
  void Discard(store::Backend& target, const Stored& stored);
  // Once the image is active: the copies become its further locations.
  void AttachCopies(const std::string& image_id, const Stored& stored);
  // The source's data committed into `target` (the caller activates or deletes it).
  // An import to several stores also renews its task's lock (`task_id`) while it copies.
  Result<Stored> StoreImport(const catalog::UploadLock& lock, store::Backend& target, const Source& source,
                             const std::string& task_id, bool renew_task);
  // The staged data as the import will store it: decompressed when image_decompression is
  // on (and the data compressed), then converted when image_conversion is on.
  Status RunPlugins(const catalog::UploadLock& lock, const ImportPlan& plan, Source* source);
  // disk_format (after a conversion) and injected properties, set before activation.
  Status ApplyImageChanges(const std::string& image_id, const std::optional<std::string>& disk_format,
                           const std::map<std::string, std::string>& properties);
  void FailImport(const catalog::UploadLock& lock, const std::string& task_id, const Status& why);
  // The staged data was refused: it is deleted, the image back to queued, the task failed.
  void RefuseImport(const catalog::UploadLock& lock, const std::string& task_id, const Status& why);
  ApiContext& api_;
};

}  // namespace glint::control
