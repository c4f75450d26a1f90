// CopyStream: the one streaming copy of image data into a store Writer, in fixed 1 MiB
// aligned chunks (bounded memory whatever the size), hashing as it goes. Used by
// glance-direct imports (staging area -> store), copy-image (store -> store) and
// web-download (an HTTP body pushed through a CopySink). A long copy keeps its catalog
// lock alive through `renew`. Every copy inspects the data's format as it streams
// (format/) and fails with the verdict's 400 message when the data is refused: a caller
// that declares nothing still gets the safety refusals.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/aligned_buffer.h"
#include "common/chunk_manifest.h"
#include "common/clock.h"
#include "common/digest.h"
#include "common/status.h"
#include "format/inspector.h"
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
  int64_t size_cap = -1;                // more bytes than this: TooLarge (-1: no cap)
  // Non-empty: also build the chunk manifest of this image id, bound to the sha512 when
  // one is computed (a caller that does not compute it binds the manifest itself).
  std::string manifest_for;
};

struct CopyResult {
  int64_t size = 0;
  std::string md5;                       // hex
  std::optional<std::string> sha512;     // hex, when asked for
  format::Verdict verdict;               // what the data is, its virtual size
  std::optional<ChunkManifest> manifest;  // when asked for (CopyOptions::manifest_for)
};

// The copy-and-hash step for a source that pushes its bytes in pieces of any size (an
// HTTP download): Feed them in order, then Finish. Used by one thread at a time.
class CopySink {
 public:
  CopySink(store::Writer& to, const CopyOptions& options);
  Status Feed(const char* data, size_t len);
  Result<CopyResult> Finish();
  int64_t size() const { return size_; }

 private:
  friend Result<CopyResult> CopyStream(store::Reader&, store::Writer&, const CopyOptions&);
  // One chunk: inspect, hash, write, renew the lock when due.
  Status Chunk(const char* data, size_t len);
  store::Writer& to_;
  const CopyOptions& o_;
  Digest md5_{Digest::Algorithm::kMd5};
  format::Inspector inspector_;
  std::optional<Digest> sha512_;
  std::optional<ChunkManifestBuilder> manifest_;
  AlignedBuffer buf_;
  size_t fill_ = 0;
  int64_t size_ = 0, last_renew_ = 0;
};

// Copies all of `from` into `to` (which is neither committed nor aborted here: the caller
// decides). An error leaves `to` to the caller to abort; a refused format is
// InvalidArgument, after the whole data was read (the inspector never reads twice).
Result<CopyResult> CopyStream(store::Reader& from, store::Writer& to, const CopyOptions& options);

}  // namespace glint::control
