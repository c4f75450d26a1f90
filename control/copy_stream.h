// CopyStream: the one streaming copy of image data from a store Reader into a store
// Writer, in fixed 1 MiB aligned chunks (bounded memory whatever the size), hashing as it
// goes. Used by glance-direct imports (staging area -> store) and copy-image (store ->
// store). A long copy keeps its catalog lock alive through `renew`. Every copy inspects
// the data's format as it streams (format/) and fails with the verdict's 400 message when
// the data is refused: a caller that declares nothing still gets the safety refusals.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "format/verdict.h"
#include "store/backend.h"

namespace glint::control {

struct CopyOptions {
  bool sha512 = false;                  // also compute os_hash_value
  format::Policy format_policy;         // [image_format]; the secure defaults unless set
  format::Declared declared;            // the image's disk and container formats
  // Called at least every `renew_every` microseconds of copying; an error stops the copy.
  std::function<Status()> renew;
  int64_t renew_every = 0;
  const Clock* clock = &SystemClock();
};

struct CopyResult {
  int64_t size = 0;
  std::string md5;                       // hex
  std::optional<std::string> sha512;     // hex, when asked for
  format::Verdict verdict;               // what the data is, its virtual size
};

// Copies all of `from` into `to` (which is neither committed nor aborted here: the caller
// decides). An error leaves `to` to the caller to abort; a refused format is
// InvalidArgument, after the whole data was read (the inspector never reads twice).
Result<CopyResult> CopyStream(store::Reader& from, store::Writer& to, const CopyOptions& options);

}  // namespace glint::control
