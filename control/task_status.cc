#include "control/task_status.h"

#include "control/notifications.h"

namespace glint::control {

Status SetTaskStatus(const ApiContext& api, const std::string& task_id, const std::string& status,
                     const std::optional<std::string>& result, const std::string& message) {
  Status s = api.catalog.UpdateTask(task_id, status, result, message);
  if (!s.ok()) return s;
  if (status == "processing") NotifyTask(api, "task.run", task_id);
  NotifyTask(api, "task." + status, task_id);
  return s;
}

}  // namespace glint::control
