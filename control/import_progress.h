// Import progress as Glance shows it on the image: `os_glance_importing_to_stores` lists
// the stores an import or copy still has to write, `os_glance_failed_import` those that
// failed (both comma-separated). Clients such as Tempest and Nova poll them. They are
// ordinary image properties changed with the catalog's optimistic concurrency (re-read and
// retried when a concurrent change wins); a failure to record progress is logged, never
// fatal to the data job.
#pragma once

#include <string>
#include <vector>

#include "control/api_context.h"

namespace glint::control {

inline constexpr const char* kImportingToStores = "os_glance_importing_to_stores";
inline constexpr const char* kFailedImport = "os_glance_failed_import";
// The id of the import or copy task working on the image, as Glance shows its task lock
// (set when the task is created, removed when it ends). Glint's lock itself is a catalog
// row (the image's upload lock, the task's lock); this property only shows it.
inline constexpr const char* kImportTask = "os_glance_import_task";

// Work on `stores` starts: they join the importing list and leave the failed list.
void MarkImporting(ApiContext& api, const std::string& image_id, const std::vector<std::string>& stores);
// `store` is done: it leaves the importing list and, when it failed, joins the failed list.
void MarkStoreDone(ApiContext& api, const std::string& image_id, const std::string& store, bool failed);

// Task `task_id` now works on the image.
void MarkImportTask(const ApiContext& api, const std::string& image_id, const std::string& task_id);
// Task `task_id` ended: its id leaves the image (only its own, as Glance drops only its lock).
void ClearImportTask(const ApiContext& api, const std::string& image_id, const std::string& task_id);

// "a,b" with `add` appended (when absent) and `remove` taken out, order kept.
std::string EditStoreList(const std::string& list, const std::vector<std::string>& add,
                          const std::vector<std::string>& remove);

}  // namespace glint::control
