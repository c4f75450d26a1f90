#include "control/task_status.h"

#include "control/import_progress.h"

#include "control/notifications.h"

namespace glint::control {

Status SetTaskStatus(const ApiContext& api, const std::string& task_id, const std::string& status,
                     const std::optional<std::string>& result, const std::string& message) {
  // An ending task lets go of its image first, so whoever sees the task ended sees the
  // image without it.
  if (status == "success" || status == "failure") {
    if (auto task = api.catalog.GetTask(task_id); task.ok()) ClearImportTask(api, task->image_id, task_id);
  }
  Status s = api.catalog.UpdateTask(task_id, status, result, message);
  if (!s.ok()) return s;
  if (status == "processing") NotifyTask(api, "task.run", task_id);
  NotifyTask(api, "task." + status, task_id);
  return s;
}

}  // namespace glint::control
