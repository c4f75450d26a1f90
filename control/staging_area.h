// StagingArea: where glance-direct imports keep staged data until the import
// ([os_glance_staging_store] filesystem_store_datadir, a file store). Opened on first use,
// and again after a failure (a directory that was not there yet). Its two scratch areas
// hold what import plugins made of staged data while the import runs: <staging>/decompressed
// (image_decompression's output) and <staging>/converted (image_conversion's). Thread-safe.
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
  // The scratch areas, opened as Get() is; nullptr when one cannot be opened.
  store::Backend* Scratch();
  store::Backend* Decompressed();
  // Removes what the import plugins left of image `image_id` in both scratch areas.
  void DropScratch(const std::string& image_id);
  // Path of image `image_id`'s data in the staging area and in its scratch area.
  std::string StagedPath(const std::string& image_id) const { return dir_ + "/" + image_id; }
  std::string ScratchPath(const std::string& image_id) const { return dir_ + "/converted/" + image_id; }
  std::string DecompressedPath(const std::string& image_id) const { return dir_ + "/decompressed/" + image_id; }

 private:
  std::string dir_;
  std::mutex mu_;
  std::unique_ptr<store::Backend> backend_;
  std::unique_ptr<store::Backend> scratch_;
  std::unique_ptr<store::Backend> decompressed_;
};

}  // namespace glint::control
