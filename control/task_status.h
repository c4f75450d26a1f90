// SetTaskStatus: a task's new status, recorded in the catalog and announced as Glance's
// task proxy announces it: task.run and task.processing when it starts, task.success or
// task.failure when it ends. Progress messages of a running task go to the catalog
// directly (no event each time).
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "control/api_context.h"

namespace glint::control {

Status SetTaskStatus(const ApiContext& api, const std::string& task_id, const std::string& status,
                     const std::optional<std::string>& result, const std::string& message);

}  // namespace glint::control
