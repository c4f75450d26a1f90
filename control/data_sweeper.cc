#include "control/data_sweeper.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace glint::control {

void DataSweeper::RemoveData(const catalog::ImageRecord& img) {
  bool all = true;
  for (const auto& loc : img.locations) {
    store::Backend* owner = api_.stores.Owner(loc.url);
    if (!owner) {
      spdlog::warn("image {}: location {} is not in a configured store; leaving it", img.id, loc.url);
      continue;
    }
    Status s = owner->Delete(loc.url);
    if (!s.ok()) {
      spdlog::error("image {}: deleting data failed: {}", img.id, s.ToString());
      all = false;
    }
  }
  if (all) (void)api_.catalog.ForgetLocations(img.id);
  if (store::Backend* staging = api_.staging.Get()) (void)staging->Delete(staging->LocationFor(img.id));
}

Status DataSweeper::RecoverUploads(bool at_startup) {
  auto released = api_.catalog.RecoverUploads(at_startup ? api_.config.node_id : std::string(),
                                                api_.Now());
  if (!released.ok()) return released.status();
  for (const auto& l : *released) {
    spdlog::warn("image {}: interrupted upload recovered; image is queued again", l.image_id);
  }
  return Status::Ok();
}

Result<int> DataSweeper::Sweep() {
  auto& catalog = api_.catalog;
  auto pending = catalog.PendingDeletes();
  if (!pending.ok()) return pending.status();
  for (const auto& img : *pending) RemoveData(img);
  Status first;
  int left = 0;
  for (const auto& entry : api_.stores.entries()) {
    Status s = SweepOne(*entry.backend, &left);
    if (!s.ok() && first.ok()) first = s;
  }
  if (Status s = SweepStaging(); !s.ok() && first.ok()) first = s;
  if (!first.ok()) return first;
  return left;
}

// Staged data is kept only while its image waits for (or runs) an import.
Status DataSweeper::SweepStaging() {
  // The scratch areas (a decompression's or conversion's output) only while an import runs:
  // one that died (a node killed mid-conversion) left its image `uploading` again.
  if (store::Backend* area = api_.staging.Get()) GLINT_RETURN_IF_ERROR(SweepStagingArea(*area, false));
  for (store::Backend* area : {api_.staging.Scratch(), api_.staging.Decompressed()}) {
    if (area) GLINT_RETURN_IF_ERROR(SweepStagingArea(*area, true));
  }
  return Status::Ok();
}

Status DataSweeper::SweepStagingArea(store::Backend& staging, bool scratch) {
  auto objects = staging.ListObjects();
  if (!objects.ok()) return objects.status();
  auto live = api_.catalog.LiveUploads();
  if (!live.ok()) return live.status();
  std::set<std::string> live_tokens;
  for (const auto& l : *live) live_tokens.insert(l.token);
  for (const auto& obj : *objects) {
    bool keep;
    if (!obj.upload_token.empty()) {
      keep = live_tokens.count(obj.upload_token) > 0;
    } else {
      auto img = api_.catalog.GetImageAnyStatus(obj.image_id);
      keep = img.ok() && ((img->status == catalog::kUploading && !scratch) || img->status == catalog::kImporting);
      if (!img.ok() && img.status().code() != Status::Code::kNotFound) keep = true;  // cannot tell now
    }
    if (keep) continue;
    spdlog::info("removing staged data {} of image {}", obj.name, obj.image_id);
    if (Status s = staging.DeleteObject(obj); !s.ok()) spdlog::warn("could not remove {}: {}", obj.name, s.ToString());
  }
  return Status::Ok();
}

Status DataSweeper::SweepOne(store::Backend& backend, int* left) {
  auto& catalog = api_.catalog;
  // List the store before reading the live locks: an upload that starts in between
  // creates its object after the listing, so it is never mistaken for debris.
  auto objects = backend.ListObjects();
  if (!objects.ok()) return objects.status();
  auto live = catalog.LiveUploads();
  if (!live.ok()) return live.status();
  std::set<std::string> live_tokens, uploading;
  for (const auto& l : *live) {
    live_tokens.insert(l.token);
    uploading.insert(l.image_id);
  }
  // Only "in use" failures (an RBD image a dead client still watches) are worth a quick
  // retry; anything else waits for the regular round.
  auto failed = [&](const store::StoredObject& obj, const Status& s) {
    spdlog::warn("could not remove {} yet: {}", obj.name, s.ToString());
    if (s.code() == Status::Code::kConflict) ++*left;
  };
  for (const auto& obj : *objects) {
    if (!obj.upload_token.empty()) {
      if (!live_tokens.count(obj.upload_token)) {
        spdlog::info("removing partial upload {} of image {} from store {}", obj.name, obj.image_id, backend.id());
        Status s = backend.DeleteObject(obj);
        if (!s.ok()) failed(obj, s);
      }
      continue;
    }
    // Committed data whose image never became active (crash between the store's commit
    // and the catalog's) or whose image is deleted: nobody references it. Not while an
    // upload of that image is live: it may be between those two commits right now.
    if (uploading.count(obj.image_id)) continue;
    auto img = catalog.GetImageAnyStatus(obj.image_id);
    if (!img.ok()) continue;  // unknown to this catalog: not ours to judge, leave it
    std::string where = backend.LocationFor(obj.image_id);
    bool referenced = std::any_of(img->locations.begin(), img->locations.end(),
                                  [&](const catalog::ImageLocation& l) { return l.url == where; });
    if (!referenced) {
      // Another image may point at this data (a location added by an admin or service).
      auto shared = catalog.LocationReferenced(where, obj.image_id);
      if (!shared.ok() || *shared) continue;
    }
    if (!referenced && (img->status == catalog::kQueued || img->status == catalog::kDeleted ||
                        img->status == catalog::kUploading)) {
      spdlog::info("removing unreferenced data {} of {} image {}", obj.name, img->status, obj.image_id);
      Status s = backend.DeleteObject(obj);
      if (!s.ok()) failed(obj, s);
    }
  }
  return Status::Ok();
}

}  // namespace glint::control
