#include "control/tasks_handler.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <vector>
#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "control/image_json.h"
#include "control/json_body.h"
#include "control/list_query.h"

namespace glint::control {

using nlohmann::json;

namespace {

bool IsUuidLike(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// Glance's checks of the list's query, with its messages.
Result<catalog::TaskQuery> ParseTaskQuery(const QueryParams& params, int default_limit, int max_limit) {
  catalog::TaskQuery q;
  q.limit = default_limit;
  for (const auto& [k, v] : params) {
    if (k == "limit") {
      char* end = nullptr;
      errno = 0;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || errno == ERANGE) return Status::InvalidArgument("limit param must be an integer");
      if (n < 0) return Status::InvalidArgument("limit param must be positive");
      q.limit = static_cast<int>(std::min<long long>(n, max_limit));
    } else if (k == "marker") {
      if (!IsUuidLike(v)) return Status::InvalidArgument("Invalid marker format");
      q.marker = v;
    } else if (k == "sort_dir") {
      if (v != "asc" && v != "desc") return Status::InvalidArgument("Invalid sort direction: " + v);
      q.ascending = v == "asc";
    } else if (k == "sort_key") {
      q.sort_key = v;
    } else if (k == "status") {
      if (v != "pending" && v != "processing" && v != "success" && v != "failure") {
        return Status::InvalidArgument("Invalid status value: " + v);
      }
      q.status = v;
    } else if (k == "type") {
      if (v != "import" && v != "api_image_import") return Status::InvalidArgument("Invalid type value: " + v);
      q.type = v;
    }
  }
  q.limit = std::min(q.limit, max_limit);
  return q;
}

// Glance's task views: `owner` always (null when the task has none), the optional
// fields only when set, and nothing outside the task schema (no deleted flags).
json TaskView(const catalog::TaskRecord& t, bool stub) {
  json full = TaskJson(t);
  json view = json::object();
  for (const char* k : {"id", "type", "status", "owner", "created_at", "updated_at"}) view[k] = full[k];
  if (!stub) {
    for (const char* k : {"input", "result", "message"}) view[k] = full[k];
  }
  std::vector<const char*> optional = {"expires_at"};
  if (!stub) optional.insert(optional.end(), {"image_id", "request_id", "user_id"});
  for (const char* k : optional) {
    if (!full[k].is_null() && full[k] != "") view[k] = full[k];
  }
  view["self"] = "/v2/tasks/" + t.id;
  view["schema"] = "/v2/schemas/task";
  return view;
}

}  // namespace

Status TasksHandler::Allowed(const Call& call, const std::string& action) const {
  auth::PolicyTarget target;
  if (call.ctx.project_id) target["project_id"] = *call.ctx.project_id;
  GLINT_RETURN_IF_ERROR(access_.Policy("tasks_api_access", call.ctx, target));
  return access_.Policy(action, call.ctx, target);
}

Result<HttpResponse> TasksHandler::List(const Call& call) {
  GLINT_RETURN_IF_ERROR(Allowed(call, "get_tasks"));
  auto q = ParseTaskQuery(call.req.query, api_.config.limit_param_default, api_.config.api_limit_max);
  if (!q.ok()) return q.status();
  if (!call.ctx.is_admin) q->owner = call.ctx.project_id.value_or("");
  auto tasks = api_.catalog.QueryTasks(*q);
  if (!tasks.ok()) return tasks.status();
  std::string params;
  for (const auto& [k, v] : call.req.query) {
    if (k != "marker") params += (params.empty() ? "" : "&") + UrlEncode(k) + "=" + UrlEncode(v);
  }
  json out = {{"tasks", json::array()}, {"first", params.empty() ? "/v2/tasks" : "/v2/tasks?" + params},
              {"schema", "/v2/schemas/tasks"}};
  for (const auto& t : *tasks) out["tasks"].push_back(TaskView(t, true));
  if (!tasks->empty() && static_cast<int>(tasks->size()) == q->limit) {
    out["next"] = "/v2/tasks?" + params + (params.empty() ? "" : "&") + "marker=" + tasks->back().id;
  }
  return JsonResponse(200, out);
}

Result<HttpResponse> TasksHandler::Show(const Call& call) {
  GLINT_RETURN_IF_ERROR(Allowed(call, "get_task"));
  auto task = api_.catalog.GetTask(call.id);
  if (!task.ok()) return task.status();
  if (!call.ctx.is_admin && task->owner != call.ctx.project_id) {
    return Status::NotFound("Task with the given id " + call.id + " not found");
  }
  return JsonResponse(200, TaskView(*task, false));
}

}  // namespace glint::control
