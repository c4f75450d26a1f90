#include "control/import_handler.h"

#include <algorithm>
#include <set>

#include "common/ids.h"
#include "control/image_json.h"
#include "control/format_check.h"
#include "control/import_jobs.h"
#include "control/import_progress.h"
#include "control/json_body.h"
#include "control/notifications.h"
#include "control/stage_host.h"
#include "control/web_download.h"

namespace glint::control {

using nlohmann::json;

namespace {

// What a request names as its stores: `stores`, `all_stores` or X-Image-Meta-Store (Glance
// refuses all_stores with either of the others).
struct StoreRequest {
  std::vector<std::string> wanted;  // `stores`, else the header (when given)
  bool all = false;
};

Result<StoreRequest> ParseStoreRequest(const HttpRequest& req, const json& body) {
  StoreRequest r;
  if (body.contains("stores")) {
    if (!body["stores"].is_array()) return Status::InvalidArgument("'stores' must be a list of store ids");
    for (const auto& v : body["stores"]) {
      if (!v.is_string()) return Status::InvalidArgument("'stores' must be a list of store ids");
      r.wanted.push_back(v.get<std::string>());
    }
  }
  r.all = body.value("all_stores", false);
  std::string header(req.Header("x-image-meta-store"));
  if (r.all && (!r.wanted.empty() || !header.empty())) {
    return Status::InvalidArgument("All_stores parameter can't be used with x-image-meta-store header or stores parameter");
  }
  if (r.wanted.empty() && !header.empty()) r.wanted.push_back(header);
  return r;
}

// A store data may be written to: configured and not read-only (409 otherwise, as Glance).
Status CheckWritable(const ApiContext& api, const std::string& id) {
  store::Backend* b = api.stores.Find(id);
  if (!b) return Status::Conflict("Store for identifier " + id + " not found");
  if (b->ReadOnly()) return Status::Conflict("Store " + id + " is read-only");
  return Status::Ok();
}

}  // namespace

Result<ImportTargets> ImportHandler::Targets(const HttpRequest& req, const json& body) {
  auto request = ParseStoreRequest(req, body);
  if (!request.ok()) return request.status();
  std::vector<std::string>& wanted = request->wanted;
  const bool all = request->all;
  ImportTargets t;
  t.must_succeed = body.value("all_stores_must_succeed", true);
  if (!api_.stores.multi_store()) {
    if (!t.must_succeed) return Status::InvalidArgument("All_stores_must_succeed can only be set with enabled_backends");
    if (!all && (wanted.size() > 1 || (wanted.size() == 1 && wanted[0] != api_.stores.entries()[0].id))) {
      return Status::Conflict("Store for identifier " + wanted.back() + " not found");
    }
    t.first = api_.stores.Default();
    return t;
  }
  if (all) {
    for (const auto& e : api_.stores.entries()) {
      if (!e.backend->ReadOnly()) wanted.push_back(e.id);
    }
  } else if (wanted.empty()) {
    wanted.push_back(StoreIdOf(api_, *api_.stores.Default()));
  }
  for (const auto& w : wanted) {
    GLINT_RETURN_IF_ERROR(CheckWritable(api_, w));
    if (std::find(t.ids.begin(), t.ids.end(), w) == t.ids.end()) t.ids.push_back(w);
  }
  if (t.ids.empty()) return Status::Conflict("No writable store is configured");
  t.first = api_.stores.Find(t.ids[0]);
  return t;
}

Result<catalog::TaskRecord> ImportHandler::StartTask(const Call& call, const json& body,
                                                     const catalog::UploadLock& lock, const ImportTargets& targets) {
  catalog::TaskRecord task = NewImportTask(api_, call.ctx, call.req, lock.image_id, DumpJson(body),
                                           DumpJson(api_.stores.multi_store() ? json(targets.ids) : json()));
  if (targets.ids.size() > 1) {  // the copies after the first store write under the task's lock
    task.lock_token = lock.token;
    task.lock_node = api_.config.node_id;
    task.lock_expires = api_.Now() + api_.LockTtl();
  }
  GLINT_RETURN_IF_ERROR(api_.catalog.CreateTask(task));
  MarkImportTask(api_, lock.image_id, task.id);
  if (api_.stores.multi_store()) MarkImporting(api_, lock.image_id, targets.ids);
  NotifyTask(api_, "task.create", task.id);
  return task;
}

Result<HttpResponse> ImportHandler::Import(const Call& call) {
  const auth::RequestContext& ctx = call.ctx;
  const HttpRequest& req = call.req;
  const std::string& id = call.id;
  auto parsed = ParseJsonBody(req.body);
  if (!parsed.ok()) return parsed.status();
  const json& body = *parsed;
  if (!body.is_object()) return Status::InvalidArgument("Malformed JSON in request body.");
  if (!body.contains("method") || !body["method"].is_object()) {
    return Status::InvalidArgument("Import request requires a 'method' field.");
  }
  const json& m = body["method"];
  if (!m.contains("name") || !m["name"].is_string()) return Status::InvalidArgument("Import request requires a 'name' field.");
  std::string method = m["name"].get<std::string>();
  static const std::set<std::string> kKnown = {"glance-direct", "web-download", "copy-image", "glance-download"};
  if (!kKnown.count(method)) return Status::InvalidArgument("Unknown import method name '" + method + "'.");
  for (const char* k : {"all_stores", "all_stores_must_succeed"}) {
    if (body.contains(k) && !body[k].is_boolean()) {
      return Status::InvalidArgument(std::string("'") + k + "' must be true or false");
    }
  }
  const auto& enabled = api_.config.enabled_import_methods;
  if (std::find(enabled.begin(), enabled.end(), method) == enabled.end()) {
    return Status::InvalidArgument("Unknown import method name '" + method + "'.");
  }
  if (method == "copy-image") return CopyImage(call, body);
  if (method == "web-download") return WebDownload(call, body);
  if (method != "glance-direct") {
    return Status::InvalidArgument("Import method '" + method + "' is not enabled at this site (GET /v2/info/import)");
  }
  auto img = access_.Visible(ctx, id);
  if (!img.ok()) return img.status();
  if (img->status == catalog::kActive) {
    return Status::Conflict("Image with status active cannot be target for import");
  }
  if (img->status != catalog::kUploading) {
    return Status::Conflict("Image needs to be staged before 'glance-direct' method can be used");
  }
  if (!img->container_format) return Status::Conflict("'container_format' needs to be set before import");
  if (!img->disk_format) return Status::Conflict("'disk_format' needs to be set before import");
  if (Status may = ImageAccess::MayModify(ctx, *img); !may.ok()) return may;
  if (Status p = access_.PolicyOn("modify_image", ctx, *img); !p.ok()) return p;
  // Staged on another node (no shared staging area): that node imports it.
  if (auto host = ForeignStageHost(api_.config, *img, req)) {
    return ForwardToStageHost(*host, SelfReferenceUrl(api_.config), req);
  }
  auto targets = Targets(req, body);
  if (!targets.ok()) return targets.status();
  if (!targets->first) return Status::Unavailable("No store is configured");
  store::Backend* staging = api_.staging.Get();
  if (!staging) return Status::Unavailable("The staging area is not available");
  catalog::UploadLock lock{img->id, NewUuid(), api_.config.node_id};
  Status s = api_.catalog.BeginImport(lock, api_.Now() + int64_t{api_.config.upload_lock_ttl} * 1000000);
  if (!s.ok()) return s;
  auto task = StartTask(call, body, lock, *targets);
  if (!task.ok()) {
    (void)api_.catalog.ReleaseImport(lock);
    return task.status();
  }
  // The copy into the store runs on the pool; the client polls the image (or its tasks).
  ImportPlan plan{DeclaredOf(*img), InjectedProperties(api_.config.import_plugins, ctx.roles), false, *targets,
                  DataCapOf(api_, ctx, img->size.value_or(0))};
  api_.post([this, lock, task_id = task->id, plan] {
    ImportJobs(api_).RunImport(lock, task_id, *plan.targets.first, plan);
  });
  return EmptyResponse(202);
}

// web-download: a queued image's data fetched from a URI the outbound filter allows
// (checked here, as Glance does, and again by the job for every address and redirect).
Result<HttpResponse> ImportHandler::WebDownload(const Call& call, const json& body) {
  const json& m = body["method"];
  if (!m.contains("uri") || !m["uri"].is_string()) {
    return Status::InvalidArgument("'uri' needs to be set for web-download import method");
  }
  std::string uri = m["uri"].get<std::string>();
  auto img = access_.Visible(call.ctx, call.id);
  if (!img.ok()) return img.status();
  if (img->status == catalog::kActive) return Status::Conflict("Image with status active cannot be target for import");
  if (img->status != catalog::kQueued) {
    return Status::Conflict("Image needs to be in 'queued' state to use 'web-download' method");
  }
  if (!img->container_format) return Status::Conflict("'container_format' needs to be set before import");
  if (!img->disk_format) return Status::Conflict("'disk_format' needs to be set before import");
  if (Status may = ImageAccess::MayModify(call.ctx, *img); !may.ok()) return may;
  if (Status p = access_.PolicyOn("modify_image", call.ctx, *img); !p.ok()) return p;
  auto targets = Targets(call.req, body);
  if (!targets.ok()) return targets.status();
  if (!targets->first) return Status::Unavailable("No store is configured");
  GLINT_RETURN_IF_ERROR(CheckWebDownloadUri(api_.config, uri));
  catalog::UploadLock lock{img->id, NewUuid(), api_.config.node_id};
  GLINT_RETURN_IF_ERROR(api_.catalog.BeginWebDownload(lock, api_.Now() + api_.LockTtl()));
  auto task = StartTask(call, body, lock, *targets);
  if (!task.ok()) {
    (void)api_.catalog.AbortUpload(lock);
    return task.status();
  }
  ImportPlan plan{DeclaredOf(*img), InjectedProperties(api_.config.import_plugins, call.ctx.roles), true, *targets,
                  DataCapOf(api_, call.ctx, 0)};
  api_.post([this, lock, task_id = task->id, plan, uri] {
    RunWebDownload(api_, lock, task_id, *plan.targets.first, plan, uri);
  });
  return EmptyResponse(202);
}

// copy-image (multi-store): the data of an active image is copied into more stores; the
// image stays active and gains a location per store. Runs as an exclusive task. Jobs
// posted to the pool capture `this`: main joins the pool before the service goes away.
Result<HttpResponse> ImportHandler::CopyImage(const Call& call, const json& body) {
  const auth::RequestContext& ctx = call.ctx;
  const HttpRequest& req = call.req;
  const std::string& id = call.id;
  if (!api_.stores.multi_store()) {
    return Status::InvalidArgument("copy-image copies between stores: it needs enabled_backends");
  }
  auto img = access_.Visible(ctx, id);
  if (!img.ok()) return img.status();
  if (img->status != catalog::kActive) {
    return Status::Conflict("Only images with status active can be targeted for copying");
  }
  if (Status p = access_.PolicyOn("copy_image", ctx, *img); !p.ok()) return p;
  std::set<std::string> holding;
  for (const auto& l : img->locations) holding.insert(l.store);
  auto request = ParseStoreRequest(req, body);
  if (!request.ok()) return request.status();
  std::vector<std::string>& wanted = request->wanted;
  const bool all = request->all;
  if (all) {
    for (const auto& e : api_.stores.entries()) {  // the writable stores (Glance leaves out http)
      if (!holding.count(e.id) && !e.backend->ReadOnly()) wanted.push_back(e.id);
    }
    if (wanted.empty()) return EmptyResponse(202);  // already everywhere: nothing to do (as Glance)
  } else {
    if (wanted.empty()) return Status::InvalidArgument("Name the stores to copy to: 'stores' or 'all_stores'");
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    for (const auto& w : wanted) {
      GLINT_RETURN_IF_ERROR(CheckWritable(api_, w));
      if (holding.count(w)) return Status::InvalidArgument("Image is already present at store '" + w + "'");
    }
  }
  catalog::TaskRecord task = NewImportTask(api_, ctx, req, img->id, DumpJson(body), DumpJson(wanted));
  task.lock_token = NewUuid();
  task.lock_node = api_.config.node_id;
  task.lock_expires = api_.Now() + int64_t{api_.config.upload_lock_ttl} * 1000000;
  if (Status t = api_.catalog.CreateTask(task); !t.ok()) return t;
  MarkImportTask(api_, img->id, task.id);
  MarkImporting(api_, img->id, wanted);
  NotifyTask(api_, "task.create", task.id);
  api_.post([this, task, wanted, source = *img] { ImportJobs(api_).RunCopy(task, wanted, source); });
  return EmptyResponse(202);
}

Result<HttpResponse> ImportHandler::Tasks(const Call& call) {
  const auth::RequestContext& ctx = call.ctx;
  const std::string& id = call.id;
  auto img = access_.Visible(ctx, id);
  if (!img.ok()) return img.status();
  auto tasks = api_.catalog.ListTasks(id);
  if (!tasks.ok()) return tasks.status();
  json out = json::array();
  for (const auto& t : *tasks) out.push_back(TaskJson(t));
  return JsonResponse(200, {{"tasks", out}});
}

}  // namespace glint::control
