#include "control/staging_area.h"

#include <spdlog/spdlog.h>

#include <filesystem>

namespace glint::control {

store::Backend* StagingArea::Get() {
  std::lock_guard<std::mutex> l(mu_);
  if (!backend_) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    auto b = store::NewFileBackend("os_glance_staging_store", dir_);
    if (b.ok()) {
      backend_ = std::move(b).value();
    } else {
      spdlog::error("staging area {}: {}", dir_, b.status().ToString());
    }
  }
  return backend_.get();
}

}  // namespace glint::control
