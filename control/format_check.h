// Format checks as every data path of glint-api applies them: the declared formats of an
// image, the verdict recorded on it (virtual_size and the os_glint_format_check
// property), and the inspection of data already in a store through a few ranged reads
// (a location add). The streaming paths (upload and stage in upload_session.cc, import,
// copy-image and web-download through copy_stream.cc) feed a format::Inspector as the
// bytes pass. Thread-safe (no state).
#pragma once

#include "catalog/image_record.h"
#include "common/status.h"
#include "format/inspector.h"
#include "format/verdict.h"
#include "store/backend.h"

namespace glint::control {

// Set by Glint on every image whose data passed the check: "passed: <detected format>".
inline constexpr const char kFormatCheckProperty[] = "os_glint_format_check";

format::Declared DeclaredOf(const catalog::ImageRecord& image);
// The verdict's facts on the record that completes an upload, import or location add.
void RecordVerdict(const format::Verdict& verdict, catalog::ImageRecord* facts);
// Inspects the data `reader` holds, reading only the regions the inspector asks for (at
// most a few hundred KiB, in a bounded number of reads).
Result<format::Verdict> InspectStored(store::Reader& reader, const format::Policy& policy,
                                      const format::Declared& declared);

}  // namespace glint::control
