#include "control/web_download.h"

#include "control/format_check.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "control/copy_stream.h"
#include "control/format_check.h"
#include "control/import_jobs.h"
#include "control/import_plugins.h"
#include "control/notifications.h"
#include "control/task_status.h"

namespace glint::control {
namespace {

std::string Bounded(const std::string& s) { return s.size() > 512 ? s.substr(0, 512) + "..." : s; }

// Puts the image back to queued (nothing was kept) and fails the task.
void Fail(ApiContext& api, const catalog::UploadLock& lock, const std::string& task_id, const Status& why,
          const ImportTargets& targets) {
  ImportJobs(api).StoresFailed(lock.image_id, targets);
  (void)api.catalog.AbortUpload(lock);
  (void)SetTaskStatus(api, task_id, "failure", std::nullopt, why.message());
  spdlog::warn("image {}: web-download failed: {}", lock.image_id, why.ToString());
}

std::string Mib(int64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

client::OutboundOptions OutboundOptionsOf(const Config& config) {
  client::OutboundOptions o;
  o.filter = config.import_filter;
  o.max_redirects = config.max_redirects;
  o.client.ca_file = config.outbound_ca_file;
  o.client.connect_timeout_ms = config.outbound_connect_timeout * 1000;
  o.client.stall_timeout_ms = config.outbound_stall_timeout * 1000;
  return o;
}

Status CheckWebDownloadUri(const Config& config, const std::string& uri) {
  auto pinned = client::PinUrl(uri, config.import_filter);
  // A name that does not resolve (now) is not refused here: Glance checks only its lists at
  // request time, so the task fails instead (os_glance_failed_import), as clients expect.
  if (pinned.ok() || pinned.status().code() == Status::Code::kUnavailable) return Status::Ok();
  return Status::InvalidArgument("URI for web-download does not pass filtering: " + Bounded(uri) + " (" +
                                 pinned.status().message() + ")");
}

namespace {

// Streams the URI's body into `sink`; the size the server announced goes to `expected`.
Result<CopyResult> Download(ApiContext& api, const std::string& task_id, const std::string& uri, CopySink& sink) {
  int64_t expected = -1, last_report = api.Now();
  auto on_head = [&](const client::ClientResponse& head) -> Status {
    if (head.status < 200 || head.status >= 300) return Status::Ok();  // reported below
    std::string length = head.Header("content-length");
    if (!length.empty() && length.size() < 19 && length.find_first_not_of("0123456789") == std::string::npos) {
      expected = std::stoll(length);
      if (expected > api.config.image_size_cap) {
        return Status::TooLarge("the image at the URI is " + std::to_string(expected) + " bytes, over image_size_cap");
      }
    }
    return Status::Ok();
  };
  auto feed = [&](const char* data, size_t n) -> Status {
    GLINT_RETURN_IF_ERROR(sink.Feed(data, n));
    if (api.Now() - last_report > 1000000) {  // progress, about once a second
      last_report = api.Now();
      (void)api.catalog.UpdateTask(task_id, "processing", std::nullopt,
                                   "Downloaded " + Mib(sink.size()) + (expected >= 0 ? " of " + Mib(expected) : ""));
    }
    return Status::Ok();
  };
  auto r = client::FetchFollowingRedirects(uri, false, OutboundOptionsOf(api.config), feed, on_head);
  if (!r.ok()) return r.status();
  if (r->status < 200 || r->status >= 300) return Status::IOError("the URI answered HTTP " + std::to_string(r->status));
  auto copied = sink.Finish();
  if (copied.ok() && expected >= 0 && copied->size != expected) {
    return Status::IOError("the download ended after " + std::to_string(copied->size) + " of " +
                           std::to_string(expected) + " bytes");
  }
  return copied;
}

}  // namespace

void RunWebDownload(ApiContext& api, const catalog::UploadLock& lock, const std::string& task_id,
                    store::Backend& target, const ImportPlan& plan, const std::string& uri) {
  // The job may have waited in the pool's queue: make sure the lock is still ours.
  if (Status s = api.catalog.RenewUpload(lock, api.Now() + api.LockTtl()); !s.ok()) {
    (void)SetTaskStatus(api, task_id, "failure", std::nullopt, "the import lost its lock: " + s.message());
    return;
  }
  (void)SetTaskStatus(api, task_id, "processing", std::nullopt, "");
  NotifyImageNow(api, "image.prepare", lock.image_id);
  // An import plugin (image_conversion and image_decompression work on a file) needs the
  // data staged first, as Glance stages every web-download.
  const ImportPluginsConfig& plugins = api.config.import_plugins;
  // So do several stores that must all succeed: the image becomes active once all hold it.
  const bool stage = plugins.Enabled("image_conversion") || plugins.Enabled("image_decompression") ||
                     !plan.inject.empty() || (plan.targets.must_succeed && plan.targets.ids.size() > 1);
  store::Backend* dest = stage ? api.staging.Get() : &target;
  if (!dest) return Fail(api, lock, task_id, Status::Unavailable("the staging area is not available"), plan.targets);
  // A committed object left by a download that died after its commit belongs to nobody.
  (void)dest->Delete(dest->LocationFor(lock.image_id));
  auto writer = dest->NewWriter(lock.image_id, lock.token);
  if (!writer.ok()) return Fail(api, lock, task_id, writer.status(), plan.targets);
  CopyOptions options;
  options.sha512 = true;
  if (!stage) options.manifest_for = lock.image_id;  // staged data gets its manifest when imported
  options.format_policy = api.config.image_format;
  options.declared = plan.declared;
  // Compressed data is checked once decompressed, when the staged data is imported: here
  // only the refusals that apply to any container (the import inspects everything again).
  if (stage && plugins.Enabled("image_decompression")) options.declared.container_format = "compressed";
  options.renew = [&] {
    GLINT_RETURN_IF_ERROR(api.catalog.RenewUpload(lock, api.Now() + api.LockTtl()));
    return plan.targets.ids.size() > 1 ? api.catalog.RenewTask(task_id, lock.token, api.Now() + api.LockTtl())
                                       : Status::Ok();
  };
  options.renew_every = api.LockTtl() / 3;
  options.clock = &api.clock;
  options.size_cap = api.config.image_size_cap;
  CopySink sink(**writer, options);
  auto copied = Download(api, task_id, uri, sink);
  if (!copied.ok()) {
    (*writer)->Abort();
    return Fail(api, lock, task_id, copied.status(), plan.targets);
  }
  if (stage) {
    auto staged = (*writer)->Commit();
    if (!staged.ok()) {
      (*writer)->Abort();
      return Fail(api, lock, task_id, staged.status(), plan.targets);
    }
    return ImportJobs(api).RunImport(lock, task_id, target, plan);
  }
  catalog::ImageRecord facts;
  facts.size = copied->size;
  facts.checksum = copied->md5;
  facts.os_hash_algo = "sha512";
  facts.os_hash_value = copied->sha512;
  RecordVerdict(copied->verdict, &facts);
  auto location = (*writer)->Commit();
  if (!location.ok()) {
    (*writer)->Abort();
    return Fail(api, lock, task_id, location.status(), plan.targets);
  }
  std::string store_id = api.stores.multi_store() ? StoreIdOf(api, target) : "";
  catalog::ImageLocation loc{*location, "{}", store_id.empty() ? target.id() : store_id};
  if (Status s = api.catalog.CompleteUpload(lock, facts, loc, copied->manifest ? &*copied->manifest : nullptr); !s.ok()) {
    (void)target.Delete(*location);
    return Fail(api, lock, task_id, s, plan.targets);
  }
  for (const char* event : {"image.upload", "image.activate", "image.update"}) {
    NotifyImageNow(api, event, lock.image_id);
  }
  spdlog::info("image {}: web-download of {} bytes into store {}", lock.image_id, copied->size, loc.store);
  ImportJobs(api).FinishStores(lock.image_id, task_id, lock.token, plan.targets, "Downloaded " + Mib(copied->size));
}

}  // namespace glint::control
