// CopyStream: the one streaming copy of image data from a store Reader into a store
// Writer, in fixed 1 MiB aligned chunks (bounded memory whatever the size), hashing as it
// goes. Used by glance-direct imports (staging area -> store) and copy-image (store ->
// store). A long copy keeps its catalog lock alive through `renew`.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "control/format_inspector.h"
#include "store/backend.h"

namespace glint::control {

struct CopyOptions {
  bool sha512 = false;                  // also compute os_hash_value
  FormatInspector* inspector = nullptr; // fed the first bytes, when given
  // Called at least every `renew_every` microseconds of copying; an error stops the copy.
  std::function<Status()> renew;
  int64_t renew_every = 0;
  const Clock* clock = &SystemClock();
};

struct CopyResult {
  int64_t size = 0;
  std::string md5;                       // hex
  std::optional<std::string> sha512;     // hex, when asked for
};

// Copies all of `from` into `to` (which is neither committed nor aborted here: the caller
// decides). An error leaves `to` to the caller to abort.
Result<CopyResult> CopyStream(store::Reader& from, store::Writer& to, const CopyOptions& options);

}  // namespace glint::control
