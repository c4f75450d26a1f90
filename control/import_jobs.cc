#include "control/import_jobs.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "control/copy_stream.h"
#include "control/format_check.h"
#include "control/import_progress.h"
#include "control/import_plugins.h"
#include "control/manifest_backfill.h"
#include "control/notifications.h"
#include "control/quotas.h"
#include "control/stage_host.h"
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
  (void)ForgetStageHost(api_, lock.image_id);
  (void)SetTaskStatus(api_, task_id, "failure", std::nullopt, why.message());
  spdlog::warn("image {}: import refused: {}", lock.image_id, why.message());
}

int64_t DataCapOf(ApiContext& api, const auth::RequestContext& ctx, int64_t staged) {
  int64_t headroom = -1;
  if (!Quotas(api).Check(ctx, "image_stage_total", 0, &headroom).ok()) headroom = 0;
  if (headroom < 0) return api.config.image_size_cap;
  return std::min(api.config.image_size_cap, headroom + std::max<int64_t>(staged, 0));
}

Status ImportJobs::RunPlugins(const catalog::UploadLock& lock, const ImportPlan& plan, Source* source) {
  const ImportPluginsConfig& plugins = api_.config.import_plugins;
  std::string path = api_.staging.StagedPath(lock.image_id);
  if (plugins.Enabled("image_decompression") && source->declared.container_format != "compressed") {
    store::Backend* area = api_.staging.Decompressed();
    if (!area) return Status::Unavailable("the import scratch area is not available");
    const std::string dest = api_.staging.DecompressedPath(lock.image_id);
    auto found = DecompressStaged(plugins.decompression, path, dest, plan.data_cap);
    if (!found.ok()) return found.status();
    if (*found != Compression::kNone) {
      auto reader = area->Open(area->LocationFor(lock.image_id));
      if (!reader.ok()) return reader.status();
      source->reader = std::move(reader).value();
      path = dest;
      spdlog::info("image {}: staged {} data decompressed", lock.image_id, CompressionName(*found));
    }
  }
  if (!plugins.Enabled("image_conversion")) return Status::Ok();
  store::Backend* scratch = api_.staging.Scratch();
  if (!scratch) return Status::Unavailable("the import scratch area is not available");
  const std::string dest = api_.staging.ScratchPath(lock.image_id);
  auto conv = ConvertStaged(plugins.conversion, api_.config.image_format, source->declared, *source->reader, path,
                            dest);
  if (!conv.ok()) return conv.status();
  if (!conv->converted) return Status::Ok();
  auto reader = scratch->Open(scratch->LocationFor(lock.image_id));
  if (!reader.ok()) return reader.status();
  source->reader = std::move(reader).value();
  source->declared = {conv->disk_format, std::string("bare")};
  source->converted_to = conv->disk_format;
  return Status::Ok();
}

Status ImportJobs::ApplyImageChanges(const std::string& image_id, const std::optional<std::string>& disk_format,
                                     const std::map<std::string, std::string>& properties) {
  if (!disk_format && properties.empty()) return Status::Ok();
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto img = api_.catalog.GetImage(image_id);
    if (!img.ok()) return img.status();
    if (disk_format) {
      img->disk_format = disk_format;
      img->container_format = "bare";
    }
    for (const auto& [k, v] : properties) img->properties[k] = v;
    Status s = api_.catalog.UpdateImage(*img);
    if (s.code() != Status::Code::kConflict) return s;
  }
  return Status::Conflict("the image kept changing while the import updated it");
}

void ImportJobs::RunImport(const catalog::UploadLock& lock, const std::string& task_id, store::Backend& target,
                           const ImportPlan& plan) {
  // The job may have waited in the pool's queue: make sure the lock is still ours.
  if (Status s = api_.catalog.RenewUpload(lock, api_.Now() + api_.LockTtl()); !s.ok()) {
    (void)SetTaskStatus(api_, task_id, "failure", std::nullopt, "the import lost its lock: " + s.message());
    return;
  }
  (void)SetTaskStatus(api_, task_id, "processing", std::nullopt, "");
  NotifyImageNow(api_, "image.prepare", lock.image_id);
  auto fail = [&](const Status& why, size_t failed_store = 0) {
    StoresFailed(lock.image_id, plan.targets, failed_store);
    api_.staging.DropScratch(lock.image_id);
    bool refuse = plan.staged_by_download || why.code() == Status::Code::kInvalidArgument;
    refuse ? RefuseImport(lock, task_id, why) : FailImport(lock, task_id, why);
  };
  store::Backend* staging = api_.staging.Get();
  if (!staging) return fail(Status::Unavailable("the staging area is not available"));
  std::string staged = staging->LocationFor(lock.image_id);
  auto reader = staging->Open(staged);
  if (!reader.ok() && reader.status().code() == Status::Code::kNotFound) {
    // Nothing staged (any more): the image can only start over.
    StoresFailed(lock.image_id, plan.targets);
    (void)api_.catalog.AbortUpload(lock);
    (void)ForgetStageHost(api_, lock.image_id);
    (void)SetTaskStatus(api_, task_id, "failure", std::nullopt,
                                  "the staged data is gone (is the staging area shared by every API node?); "
                                  "stage the image again");
    return;
  }
  if (!reader.ok()) return fail(reader.status());
  Source source{std::move(reader).value(), plan.declared, std::nullopt};
  if (Status s = RunPlugins(lock, plan, &source); !s.ok()) return fail(s);
  auto stored = StoreImport(lock, target, source, task_id, plan.targets.ids.size() > 1);
  if (!stored.ok()) return fail(stored.status());
  // all_stores_must_succeed (Glance's default): every store holds the data before the image
  // becomes active, and one that fails reverts them all.
  const bool all_first = plan.targets.must_succeed && plan.targets.ids.size() > 1;
  size_t failed_at = 0;
  if (all_first) {
    MarkStoreDone(api_, lock.image_id, plan.targets.ids[0], false);  // as Glance, store by store
    if (Status s = StoreCopies(lock, task_id, plan.targets, &*stored, &failed_at); !s.ok()) {
      Discard(target, *stored);
      return fail(s, failed_at);
    }
  }
  if (Status s = ApplyImageChanges(lock.image_id, source.converted_to, plan.inject); !s.ok()) {
    Discard(target, *stored);
    return fail(s);
  }
  if (Status s = api_.catalog.CompleteUpload(lock, stored->facts, stored->location,
                                            stored->manifest ? &*stored->manifest : nullptr); !s.ok()) {
    Discard(target, *stored);
    if (source.converted_to) (void)ApplyImageChanges(lock.image_id, plan.declared.disk_format, {});
    return fail(s);
  }
  AttachCopies(lock.image_id, *stored);
  (void)staging->Delete(staged);
  api_.staging.DropScratch(lock.image_id);
  if (Status s = ForgetStageHost(api_, lock.image_id); !s.ok()) {
    spdlog::warn("image {}: could not drop {}: {}", lock.image_id, kStageHostProperty, s.ToString());
  }
  for (const char* event : {"image.upload", "image.activate", "image.update"}) {
    NotifyImageNow(api_, event, lock.image_id);
  }
  spdlog::info("image {}: imported ({} bytes) into store {}", lock.image_id, *stored->facts.size,
               stored->location.store);
  ImportTargets rest = plan.targets;
  if (all_first) rest.ids.resize(1);  // the others are done
  FinishStores(lock.image_id, task_id, lock.token, rest, "");
}

Status ImportJobs::RenewImport(const catalog::UploadLock& lock, const std::string& task_id, bool renew_task) {
  GLINT_RETURN_IF_ERROR(api_.catalog.RenewUpload(lock, api_.Now() + api_.LockTtl()));
  return renew_task ? api_.catalog.RenewTask(task_id, lock.token, api_.Now() + api_.LockTtl()) : Status::Ok();
}

Status ImportJobs::StoreCopies(const catalog::UploadLock& lock, const std::string& task_id,
                               const ImportTargets& targets, Stored* stored, size_t* failed_at) {
  for (size_t i = 1; i < targets.ids.size(); ++i) {
    *failed_at = i;
    const std::string& id = targets.ids[i];
    store::Backend* target = api_.stores.Find(id);
    if (!target) return Status::NotFound("store " + id + " is gone");
    auto reader = targets.first->Open(stored->location.url);
    if (!reader.ok()) return reader.status();
    // Data of an import that died after this store's commit is nobody's (the image has no
    // locations while it imports).
    (void)target->Delete(target->LocationFor(lock.image_id));
    auto writer = target->NewWriter(lock.image_id, lock.token);
    if (!writer.ok()) return writer.status().Prefixed("store " + id + ": ");
    CopyOptions options;
    options.renew = [&] { return RenewImport(lock, task_id, true); };
    options.renew_every = api_.LockTtl() / 3;
    options.clock = &api_.clock;
    auto copied = CopyStream(**reader, **writer, options);
    if (copied.ok() && copied->md5 != stored->facts.checksum) {
      copied = Status::Corruption("the copy's md5 does not match the imported data");
    }
    Result<std::string> location = copied.ok() ? (*writer)->Commit() : Result<std::string>(copied.status());
    if (!location.ok()) {
      (*writer)->Abort();
      return location.status().Prefixed("store " + id + ": ");
    }
    stored->copies.push_back(catalog::ImageLocation{*location, json({{"store", id}}).dump(), id});
    MarkStoreDone(api_, lock.image_id, id, false);
  }
  return Status::Ok();
}

void ImportJobs::Discard(store::Backend& target, const Stored& stored) {
  (void)target.Delete(stored.location.url);
  for (const auto& copy : stored.copies) {
    if (store::Backend* b = api_.stores.Find(copy.store)) (void)b->Delete(copy.url);
  }
}

void ImportJobs::AttachCopies(const std::string& image_id, const Stored& stored) {
  for (const auto& copy : stored.copies) {
    if (Status s = api_.catalog.AddLocation(image_id, copy, std::nullopt); !s.ok()) {
      spdlog::warn("image {}: the copy in store {} could not be added: {}", image_id, copy.store, s.ToString());
      if (store::Backend* b = api_.stores.Find(copy.store)) (void)b->Delete(copy.url);
    }
  }
}

void ImportJobs::StoresFailed(const std::string& image_id, const ImportTargets& targets, size_t failed) {
  for (size_t i = 0; i < targets.ids.size(); ++i) MarkStoreDone(api_, image_id, targets.ids[i], i == failed);
}

void ImportJobs::FinishStores(const std::string& image_id, const std::string& task_id, const std::string& token,
                              const ImportTargets& targets, const std::string& message) {
  std::string result = json({{"image_id", image_id}}).dump();
  if (!targets.ids.empty()) MarkStoreDone(api_, image_id, targets.ids[0], false);
  if (targets.ids.size() <= 1) {
    (void)SetTaskStatus(api_, task_id, "success", result, message);
    return;
  }
  auto img = api_.catalog.GetImage(image_id);
  catalog::TaskRecord task;
  task.id = task_id;
  task.lock_token = token;
  int64_t copied = 0;
  std::vector<std::string> failures;
  for (size_t i = 1; i < targets.ids.size(); ++i) {
    Status s = img.ok() ? api_.catalog.RenewTask(task_id, token, api_.Now() + api_.LockTtl()) : img.status();
    if (s.ok()) s = CopyTo(task, targets.ids[i], *img, &copied);
    MarkStoreDone(api_, image_id, targets.ids[i], !s.ok());
    if (!s.ok()) {
      failures.push_back(targets.ids[i] + ": " + s.message());
      spdlog::warn("image {}: import into store {} failed: {}", image_id, targets.ids[i], s.ToString());
    }
  }
  std::string note = message;
  for (size_t i = 0; i < failures.size(); ++i) note += std::string(i == 0 ? "; failed: " : "; ") + failures[i];
  (void)SetTaskStatus(api_, task_id, failures.empty() || !targets.must_succeed ? "success" : "failure", result,
                      note);
}

Result<ImportJobs::Stored> ImportJobs::StoreImport(const catalog::UploadLock& lock, store::Backend& target,
                                                  const Source& source, const std::string& task_id,
                                                  bool renew_task) {
  // A committed object left by an import that died after its commit belongs to nobody
  // (the image has no locations while importing): clear the way.
  (void)target.Delete(target.LocationFor(lock.image_id));
  auto writer = target.NewWriter(lock.image_id, lock.token);
  if (!writer.ok()) return writer.status();
  CopyOptions options;
  options.sha512 = true;
  options.manifest_for = lock.image_id;
  options.format_policy = api_.config.image_format;
  options.declared = source.declared;
  options.renew = [&] { return RenewImport(lock, task_id, renew_task); };
  options.renew_every = api_.LockTtl() / 3;
  options.clock = &api_.clock;
  auto copied = CopyStream(*source.reader, **writer, options);
  if (!copied.ok()) {
    (*writer)->Abort();
    return copied.status();
  }
  Stored out;
  out.facts.size = copied->size;
  out.facts.checksum = copied->md5;
  out.facts.os_hash_algo = "sha512";
  out.facts.os_hash_value = copied->sha512;
  RecordVerdict(copied->verdict, &out.facts);
  out.manifest = std::move(copied->manifest);
  auto location = (*writer)->Commit();
  if (!location.ok()) {
    (*writer)->Abort();
    return location.status();
  }
  std::string store_id = api_.stores.multi_store() ? StoreIdOf(api_, target) : "";
  out.location = catalog::ImageLocation{*location, "{}", store_id.empty() ? target.id() : store_id};
  return out;
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
    MarkStoreDone(api_, img.id, t, !s.ok());
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
