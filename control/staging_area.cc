#include "control/staging_area.h"

#include <spdlog/spdlog.h>

#include <filesystem>

namespace glint::control {
namespace {

std::unique_ptr<store::Backend> OpenArea(const std::string& id, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  auto b = store::NewFileBackend(id, dir);
  if (b.ok()) return std::move(b).value();
  spdlog::error("staging area {}: {}", dir, b.status().ToString());
  return nullptr;
}

}  // namespace

store::Backend* StagingArea::Get() {
  std::lock_guard<std::mutex> l(mu_);
  if (!backend_) backend_ = OpenArea("os_glance_staging_store", dir_);
  return backend_.get();
}

store::Backend* StagingArea::Scratch() {
  std::lock_guard<std::mutex> l(mu_);
  if (!scratch_) scratch_ = OpenArea("os_glint_import_scratch", dir_ + "/converted");
  return scratch_.get();
}

store::Backend* StagingArea::Decompressed() {
  std::lock_guard<std::mutex> l(mu_);
  if (!decompressed_) decompressed_ = OpenArea("os_glint_import_decompressed", dir_ + "/decompressed");
  return decompressed_.get();
}

void StagingArea::DropScratch(const std::string& image_id) {
  for (store::Backend* area : {Scratch(), Decompressed()}) {
    if (area) (void)area->Delete(area->LocationFor(image_id));
  }
}

}  // namespace glint::control
