// StagingArea: where glance-direct imports keep staged data until the import
// ([os_glance_staging_store] filesystem_store_datadir, a file store). Opened on first use,
// and again after a failure (a directory that was not there yet). Its scratch area
// (<staging>/converted) holds what an import plugin made of staged data (a converted
// image) while the import runs. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "store/backend.h"

namespace glint::control {

class StagingArea {
 public:
  explicit StagingArea(std::string dir) : dir_(std::move(dir)) {}
  // nullptr when the area cannot be opened (logged).
  store::Backend* Get();
  // The scratch area, opened as Get() is; nullptr when it cannot be opened.
  store::Backend* Scratch();
  // Path of image `image_id`'s data in the staging area and in its scratch area.
  std::string StagedPath(const std::string& image_id) const { return dir_ + "/" + image_id; }
  std::string ScratchPath(const std::string& image_id) const { return dir_ + "/converted/" + image_id; }

 private:
  std::string dir_;
  std::mutex mu_;
  std::unique_ptr<store::Backend> backend_;
  std::unique_ptr<store::Backend> scratch_;
};

}  // namespace glint::control
