#include "control/import_jobs.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "control/copy_stream.h"
#include "control/format_check.h"
#include "control/manifest_backfill.h"
#include "control/notifications.h"
#include "control/task_status.h"

namespace glint::control {

using catalog::ImageRecord;
using nlohmann::json;

std::vector<std::string> ImportMethods(const ApiContext& api) {
  std::vector<std::string> m;
  for (const auto& name : api.config.enabled_import_methods) {  // in Glance's order
    if (name == "glance-direct" || name == "web-download" || (name == "copy-image" && api.stores.multi_store())) {
      m.push_back(name);
    }
  }
  return m;
}

std::string StoreIdOf(const ApiContext& api, store::Backend& b) {
  for (const auto& e : api.stores.entries()) {
    if (e.backend.get() == &b) return e.id;
  }
  return b.id();
}

catalog::TaskRecord NewImportTask(const ApiContext& api, const auth::RequestContext& ctx, const HttpRequest& req,
                                  const std::string& image_id, const std::string& body_json,
                                  const std::string& backends_json) {
  catalog::TaskRecord task;
  task.id = NewUuid();
  task.image_id = image_id;
  task.owner = ctx.project_id;
  task.user_id = ctx.user_id;
  task.request_id = req.request_id;
  task.input_json = "{\"image_id\":\"" + image_id + "\",\"import_req\":" + body_json + ",\"backend\":" + backends_json + "}";
  task.created_at = task.updated_at = api.Now();
  return task;
}

void ImportJobs::FailImport(const catalog::UploadLock& lock, const std::string& task_id, const Status& why) {
  (void)api_.catalog.ReleaseImport(lock);
  (void)SetTaskStatus(api_, task_id, "failure", std::nullopt, why.message());
  spdlog::warn("image {}: import failed: {}", lock.image_id, why.ToString());
}

void ImportJobs::RefuseImport(const catalog::UploadLock& lock, const std::string& task_id, const Status& why) {
  if (store::Backend* staging = api_.staging.Get()) (void)staging->Delete(staging->LocationFor(lock.image_id));
  (void)api_.catalog.AbortUpload(lock);
  (void)SetTaskStatus(api_, task_id, "failure", std::nullopt, why.message());
  spdlog::warn("image {}: import refused: {}", lock.image_id, why.message());
}

void ImportJobs::RunImport(const catalog::UploadLock& lock, const std::string& task_id, store::Backend& target,
                           const format::Declared& declared) {
  // The job may have waited in the pool's queue: make sure the lock is still ours.
  if (Status s = api_.catalog.RenewUpload(lock, api_.Now() + api_.LockTtl()); !s.ok()) {
    (void)SetTaskStatus(api_, task_id, "failure", std::nullopt, "the import lost its lock: " + s.message());
    return;
  }
  (void)SetTaskStatus(api_, task_id, "processing", std::nullopt, "");
  NotifyImageNow(api_, "image.prepare", lock.image_id);
  store::Backend* staging = api_.staging.Get();
  if (!staging) return FailImport(lock, task_id, Status::Unavailable("the staging area is not available"));
  std::string staged = staging->LocationFor(lock.image_id);
  auto reader = staging->Open(staged);
  if (!reader.ok() && reader.status().code() == Status::Code::kNotFound) {
    // Nothing staged (any more): the image can only start over.
    (void)api_.catalog.AbortUpload(lock);
    (void)SetTaskStatus(api_, task_id, "failure", std::nullopt,
                                  "the staged data is gone (is the staging area shared by every API node?); "
                                  "stage the image again");
    return;
  }
  if (!reader.ok()) return FailImport(lock, task_id, reader.status());
  // A committed object left by an import that died after its commit belongs to nobody
  // (the image has no locations while importing): clear the way.
  (void)target.Delete(target.LocationFor(lock.image_id));
  auto writer = target.NewWriter(lock.image_id, lock.token);
  if (!writer.ok()) return FailImport(lock, task_id, writer.status());
  CopyOptions options;
  options.sha512 = true;
  options.manifest_for = lock.image_id;
  options.format_policy = api_.config.image_format;
  options.declared = declared;
  options.renew = [&] { return api_.catalog.RenewUpload(lock, api_.Now() + api_.LockTtl()); };
  options.renew_every = api_.LockTtl() / 3;
  options.clock = &api_.clock;
  auto copied = CopyStream(**reader, **writer, options);
  if (!copied.ok()) {
    (*writer)->Abort();
    if (copied.status().code() == Status::Code::kInvalidArgument) return RefuseImport(lock, task_id, copied.status());
    return FailImport(lock, task_id, copied.status());
  }
  ImageRecord facts;
  facts.size = copied->size;
  facts.checksum = copied->md5;
  facts.os_hash_algo = "sha512";
  facts.os_hash_value = copied->sha512;
  RecordVerdict(copied->verdict, &facts);
  auto location = (*writer)->Commit();
  if (!location.ok()) {
    (*writer)->Abort();
    return FailImport(lock, task_id, location.status());
  }
  std::string store_id = api_.stores.multi_store() ? StoreIdOf(api_, target) : "";
  catalog::ImageLocation loc{*location, "{}", store_id.empty() ? target.id() : store_id};
  if (Status s = api_.catalog.CompleteUpload(lock, facts, loc, copied->manifest ? &*copied->manifest : nullptr); !s.ok()) {
    (void)target.Delete(*location);
    return FailImport(lock, task_id, s);
  }
  (void)staging->Delete(staged);
  for (const char* event : {"image.upload", "image.activate", "image.update"}) {
    NotifyImageNow(api_, event, lock.image_id);
  }
  (void)SetTaskStatus(api_, task_id, "success", json({{"image_id", lock.image_id}}).dump(), "");
  spdlog::info("image {}: imported ({} bytes) into store {}", lock.image_id, copied->size, loc.store);
}

Status ImportJobs::CopyTo(const catalog::TaskRecord& task, const std::string& target_id, const ImageRecord& img,
                          int64_t* copied) {
  store::Backend* target = api_.stores.Find(target_id);
  if (!target) return Status::NotFound("store " + target_id + " is gone");
  std::unique_ptr<store::Reader> reader;
  for (const auto& l : img.locations) {  // the first readable copy
    store::Backend* src = api_.stores.Owner(l.url);
    if (!src) continue;
    auto r = src->Open(l.url);
    if (r.ok()) {
      reader = std::move(r).value();
      break;
    }
  }
  if (!reader) return Status::NotFound("no readable location of image " + img.id);
  // Data of an earlier copy that died after its commit is no location of the image
  // (checked when this task started): remove it, or it would block this copy.
  std::string where = target->LocationFor(img.id);
  if (std::none_of(img.locations.begin(), img.locations.end(),
                   [&](const catalog::ImageLocation& l) { return l.url == where; })) {
    (void)target->Delete(where);
  }
  auto writer = target->NewWriter(img.id, *task.lock_token);
  if (!writer.ok()) return writer.status();
  CopyOptions options;
  options.format_policy = api_.config.image_format;
  options.declared = DeclaredOf(img);  // the source is checked again
  options.manifest_for = img.id;        // for an image that predates manifests
  options.renew = [&] { return api_.catalog.RenewTask(task.id, *task.lock_token, api_.Now() + api_.LockTtl()); };
  options.renew_every = api_.LockTtl() / 3;
  options.clock = &api_.clock;
  auto result = CopyStream(*reader, **writer, options);
  // The copy is checked against the image's checksum before it becomes a location.
  if (result.ok() && img.checksum && result->md5 != *img.checksum) {
    result = Status::Corruption("the copy's md5 does not match the image checksum");
  }
  if (!result.ok()) {
    (*writer)->Abort();
    return result.status();
  }
  AdoptCopyManifest(api_.catalog, img, std::move(result->manifest));  // the data checked out
  auto location = (*writer)->Commit();
  if (!location.ok()) {
    (*writer)->Abort();
    return location.status();
  }
  catalog::ImageLocation loc{*location, json({{"store", target_id}}).dump(), target_id};
  if (Status s = api_.catalog.AddLocation(img.id, loc, std::nullopt); !s.ok()) {
    (void)target->Delete(*location);  // the image changed (deleted, deactivated) meanwhile
    return s;
  }
  *copied += result->size;
  return Status::Ok();
}

void ImportJobs::RunCopy(const catalog::TaskRecord& task, const std::vector<std::string>& targets,
                         const ImageRecord& img) {
  // The job may have waited in the pool's queue: make sure the task lock is still ours.
  if (Status s = api_.catalog.RenewTask(task.id, *task.lock_token, api_.Now() + api_.LockTtl()); !s.ok()) {
    (void)SetTaskStatus(api_, task.id, "failure", std::nullopt, "the copy lost its lock: " + s.message());
    return;
  }
  (void)SetTaskStatus(api_, task.id, "processing", std::nullopt, "");
  int64_t copied = 0;
  std::vector<std::string> failures;
  for (const auto& t : targets) {
    Status s = CopyTo(task, t, img, &copied);
    if (!s.ok()) {
      failures.push_back(t + ": " + s.message());
      spdlog::warn("image {}: copy to store {} failed: {}", img.id, t, s.ToString());
    }
  }
  std::string message = "Copied " + std::to_string(copied >> 20) + " MiB";
  if (!failures.empty()) {
    message += "; failed: ";
    for (size_t i = 0; i < failures.size(); ++i) message += (i ? "; " : "") + failures[i];
  }
  (void)SetTaskStatus(api_, task.id, failures.empty() ? "success" : "failure",
                                json({{"image_id", img.id}}).dump(), message);
}

}  // namespace glint::control
