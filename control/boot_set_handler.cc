#include "control/boot_set_handler.h"

#include "common/chunk_manifest.h"
#include "control/json_body.h"

namespace glint::control {

namespace {

int64_t ChunkCount(const catalog::ImageRecord& img) {
  const int64_t size = img.size.value_or(0);
  return (size + kManifestChunkSize - 1) / kManifestChunkSize;
}

}  // namespace

Result<catalog::ImageRecord> BootSetHandler::Readable(const Call& call) {
  auto img = access_.Visible(call.ctx, call.id);
  if (!img.ok()) return img.status();
  GLINT_RETURN_IF_ERROR(access_.PolicyOn("download_image", call.ctx, *img));
  if (img->status == catalog::kDeactivated && !call.ctx.is_admin) {
    return Status::PermissionDenied("The requested image has been deactivated. Image data download is forbidden.");
  }
  if ((img->status != catalog::kActive && img->status != catalog::kDeactivated) || !img->size) {
    return Status::NotFound("Image " + img->id + " has no data, so no boot set");
  }
  return img;
}

Result<HttpResponse> BootSetHandler::Report(const Call& call) {
  auto img = Readable(call);
  if (!img.ok()) return img.status();
  auto body = ParseJsonBody(call.req.body);
  if (!body.ok()) return body.status();
  auto report = ParseBootReport(*body, kManifestChunkSize, ChunkCount(*img), policy_);
  if (!report.ok()) return report.status();
  report->image_id = img->id;
  report->reporter = BootReporter(call.ctx);
  report->reported_at = api_.Now();
  catalog::BootReportLimits limits;
  limits.min_interval = int64_t{policy_.report_interval} * 1000000;
  limits.max_hosts_per_reporter = policy_.max_hosts_per_reporter;
  limits.max_reports_per_image = policy_.max_reports_per_image;
  GLINT_RETURN_IF_ERROR(api_.catalog.PutBootReport(*report, limits));
  return EmptyResponse(204);
}

Result<HttpResponse> BootSetHandler::Merged(const Call& call) {
  auto img = Readable(call);
  if (!img.ok()) return img.status();
  auto reports = api_.catalog.ListBootReports(img->id);
  if (!reports.ok()) return reports.status();
  MergedBootSet merged = MergeBootReports(*reports, ChunkCount(*img), policy_);
  return JsonResponse(200, {{"image_id", img->id},
                            {"chunk_size", kManifestChunkSize},
                            {"reports", merged.reports},
                            {"reporters", merged.reporters},
                            {"chunks", merged.chunks}});
}

}  // namespace glint::control
