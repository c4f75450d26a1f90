// StagingArea: where glance-direct imports keep staged data until the import
// ([os_glance_staging_store] filesystem_store_datadir, a file store). Opened on first use,
// and again after a failure (a directory that was not there yet). Thread-safe.
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

 private:
  std::string dir_;
  std::mutex mu_;
  std::unique_ptr<store::Backend> backend_;
};

}  // namespace glint::control
