#include "control/image_data_handler.h"

#include <spdlog/spdlog.h>

#include "common/ids.h"
#include "control/byte_range.h"
#include "control/download_cache.h"
#include "control/format_check.h"
#include "control/http_errors.h"
#include "control/json_body.h"
#include "control/notifications.h"
#include "control/stage_host.h"

namespace glint::control {

using catalog::ImageRecord;

namespace {

Status TooLargeForCap(uint64_t length, int64_t cap) {
  return Status::TooLarge("The incoming image is too large: " + std::to_string(length) +
                          " bytes exceeds image_size_cap (" + std::to_string(cap) + ")");
}

}  // namespace

Result<HttpResponse> ImageDataHandler::Download(const Call& call) {
  auto img = access_.Visible(call.ctx, call.id);
  if (!img.ok()) return img.status();
  GLINT_RETURN_IF_ERROR(access_.PolicyOn("download_image", call.ctx, *img));
  if (img->status == catalog::kDeactivated && !call.ctx.is_admin) {
    return Status::PermissionDenied("The requested image has been deactivated. Image data download is forbidden.");
  }
  if ((img->status != catalog::kActive && img->status != catalog::kDeactivated) || img->locations.empty()) {
    return EmptyResponse(204);
  }
  std::unique_ptr<store::Reader> reader;
  if (api_.config.ImageCacheServesDownloads()) reader = CachedImageData(api_, *img);
  if (!reader) {
    auto opened = OpenImageData(api_, *img);
    if (!opened.ok()) return opened.status();
    reader = std::move(opened).value();
  }
  const int64_t size = reader->size();
  auto range = ParseByteRange(call.req.Header("range"), size);
  if (!range.ok()) {
    HttpResponse e = ErrorResponse(range.status());
    if (e.status == 416) e.Set("Content-Range", "bytes */" + std::to_string(size));
    return e;
  }
  HttpResponse r;
  r.status = 200;
  r.offset = 0;
  r.length = size;
  if (*range) {
    r.status = 206;
    r.offset = (*range)->first;
    r.length = (*range)->length();
    r.Set("Content-Range", "bytes " + std::to_string((*range)->first) + "-" + std::to_string((*range)->last) + "/" +
                               std::to_string(size));
  }
  r.Set("Content-Type", "application/octet-stream");
  if (img->checksum && r.status == 200) r.Set("Content-MD5", *img->checksum);
  r.data = std::move(reader);
  if (call.req.method == "GET" && api_.notifier) {
    r.on_sent = [&api = api_, image = *img, reader = call.ctx, due = r.length](int64_t sent) {
      NotifySend(api, image, reader, sent, due);
    };
  }
  return r;
}

Result<HttpResponse> ImageDataHandler::Manifest(const Call& call) {
  auto img = access_.Visible(call.ctx, call.id);
  if (!img.ok()) return img.status();
  GLINT_RETURN_IF_ERROR(access_.PolicyOn("download_image", call.ctx, *img));
  if (img->status == catalog::kDeactivated && !call.ctx.is_admin) {
    return Status::PermissionDenied("The requested image has been deactivated. Image data download is forbidden.");
  }
  if (img->status != catalog::kActive && img->status != catalog::kDeactivated) {
    return Status::NotFound("Image " + img->id + " has no data, so no chunk manifest");
  }
  auto m = api_.catalog.GetManifest(img->id);
  if (!m.ok()) return m.status();
  return JsonResponse(200, {{"image_id", m->image_id},
                            {"size", m->size},
                            {"chunk_size", m->chunk_size},
                            {"algorithm", m->algorithm},
                            {"os_hash_algo", m->os_hash_algo},
                            {"os_hash_value", m->os_hash_value},
                            {"binding", m->binding},
                            {"chunks", m->chunks}});
}

// glance-direct, step one: the data goes to the staging area; the image becomes
// `uploading` (Glance: no formats needed yet, policy modify_image).
Result<std::shared_ptr<UploadSession>> ImageDataHandler::BeginStage(const Call& call, const ImageRecord& img,
                                                                    std::optional<uint64_t> content_length) {
  GLINT_RETURN_IF_ERROR(access_.PolicyOn("modify_image", call.ctx, img));
  if (content_length && *content_length > static_cast<uint64_t>(api_.config.image_size_cap)) {
    return TooLargeForCap(*content_length, api_.config.image_size_cap);
  }
  // image_stage_total: over it, 413 (as Glance); below it, the staged data is capped at
  // what is left under it.
  int64_t headroom = -1;
  GLINT_RETURN_IF_ERROR(quotas_.Check(call.ctx, "image_stage_total", 0, &headroom));
  if (content_length && headroom >= 0 && *content_length > static_cast<uint64_t>(headroom)) {
    return Status::TooLarge("Resource image_stage_total is over limit: staging " + std::to_string(*content_length) +
                            " bytes exceeds the project's remaining " + std::to_string(headroom) + " bytes");
  }
  const int64_t cap = headroom >= 0 ? std::min(api_.config.image_size_cap, headroom) : api_.config.image_size_cap;
  store::Backend* staging = api_.staging.Get();
  if (!staging) return Status::Unavailable("The staging area is not available");
  catalog::UploadLock lock{img.id, NewUuid(), api_.config.node_id};
  GLINT_RETURN_IF_ERROR(api_.catalog.BeginStage(lock, api_.Now() + api_.LockTtl()));
  if (Status s = RecordStageHost(api_, img.id); !s.ok()) {  // where an import on another node goes
    (void)api_.catalog.AbortUpload(lock);
    return s;
  }
  auto writer = staging->NewWriter(img.id, lock.token);
  if (!writer.ok()) {
    (void)api_.catalog.AbortUpload(lock);
    return writer.status();
  }
  auto session = std::make_shared<UploadSession>(api_.post, api_.catalog, std::move(writer).value(), *staging, lock,
                                                 DeclaredOf(img), api_.config.image_format, cap,
                                                 api_.config.upload_lock_ttl, UploadSession::Mode::kStage);
  if (api_.config.import_plugins.Enabled("image_decompression") && img.container_format != "compressed") {
    session->AcceptCompressed();
  }
  return session;
}

Result<int64_t> ImageDataHandler::UploadSizeCap(const Call& call, std::optional<uint64_t> content_length) {
  if (content_length && *content_length > static_cast<uint64_t>(api_.config.image_size_cap)) {
    return TooLargeForCap(*content_length, api_.config.image_size_cap);
  }
  int64_t headroom = -1;
  GLINT_RETURN_IF_ERROR(quotas_.Check(call.ctx, "image_count_uploading", 1));
  GLINT_RETURN_IF_ERROR(quotas_.Check(call.ctx, "image_size_total", 0, &headroom));
  if (content_length && headroom >= 0 && *content_length > static_cast<uint64_t>(headroom)) {
    return Status::TooLarge("Resource image_size_total is over limit: this upload of " +
                            std::to_string(*content_length) + " bytes exceeds the project's remaining " +
                            std::to_string(headroom) + " bytes");
  }
  return headroom >= 0 ? std::min(api_.config.image_size_cap, headroom) : api_.config.image_size_cap;
}

// Which store receives the data: X-Image-Meta-Store (multi-store), else the default.
Result<store::Backend*> ImageDataHandler::UploadTarget(const HttpRequest& req) {
  store::Backend* target = api_.stores.Default();
  std::string wanted(req.Header("x-image-meta-store"));
  if (!wanted.empty()) {
    target = api_.stores.multi_store() ? api_.stores.Find(wanted) : nullptr;
    if (!target) return Status::InvalidArgument("Store for identifier " + wanted + " not found");
  }
  if (!target) return Status::Unavailable("No store is configured");
  return target;
}

Result<std::shared_ptr<UploadSession>> ImageDataHandler::BeginUpload(const Call& call, bool stage,
                                                                     std::optional<uint64_t> content_length) {
  std::string_view ct = call.req.Header("content-type");
  ct = ct.substr(0, ct.find(';'));
  if (ct != "application/octet-stream") {
    return Status::UnsupportedMedia("Content-Type '" + std::string(ct.substr(0, 200)) +
                                    "' is not supported for image data: use application/octet-stream");
  }
  auto img = access_.Visible(call.ctx, call.id);
  if (!img.ok()) return img.status();
  GLINT_RETURN_IF_ERROR(ImageAccess::MayModify(call.ctx, *img));
  if (stage) return BeginStage(call, *img, content_length);
  GLINT_RETURN_IF_ERROR(access_.PolicyOn("upload_image", call.ctx, *img));
  if (content_length && *content_length > static_cast<uint64_t>(api_.config.image_size_cap)) {
    return TooLargeForCap(*content_length, api_.config.image_size_cap);
  }
  if (img->status == catalog::kQueued && (!img->disk_format || !img->container_format)) {
    return Status::InvalidArgument("Properties disk_format, container_format must be set prior to saving data.");
  }
  if (img->status != catalog::kQueued) {
    return Status::Conflict("Image status transition from " + img->status + " to saving is not allowed");
  }
  auto size_cap = UploadSizeCap(call, content_length);
  if (!size_cap.ok()) return size_cap.status();
  auto target = UploadTarget(call.req);
  if (!target.ok()) return target.status();
  catalog::UploadLock lock{img->id, NewUuid(), api_.config.node_id};
  GLINT_RETURN_IF_ERROR(api_.catalog.BeginUpload(lock, api_.Now() + api_.LockTtl()));
  auto writer = (*target)->NewWriter(img->id, lock.token);
  if (!writer.ok()) {
    (void)api_.catalog.AbortUpload(lock);
    return writer.status();
  }
  NotifyImage(api_, "image.prepare", *img);
  auto session = std::make_shared<UploadSession>(api_.post, api_.catalog, std::move(writer).value(), **target, lock,
                                                 DeclaredOf(*img), api_.config.image_format, *size_cap,
                                                 api_.config.upload_lock_ttl);
  if (api_.notifier) {
    session->set_on_finished([&api = api_, id = img->id](const Status& outcome) {
      if (!outcome.ok()) {
        return NotifyUploadError(api, "Failed to upload image data for image " + id + ": " + outcome.message());
      }
      auto now = api.catalog.GetImage(id);
      if (!now.ok()) return;
      for (const char* event : {"image.upload", "image.activate", "image.update"}) NotifyImage(api, event, *now);
    });
  }
  return session;
}

}  // namespace glint::control
