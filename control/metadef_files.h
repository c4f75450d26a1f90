// Glance's metadata definition files (JSON, one namespace a file; Debian ships them in
// /usr/share/glance-common/metadefs): `glint-manage db-load-metadefs`, `db-unload-metadefs`
// and `db-export-metadefs`, as glance-manage's. Only glint-manage calls these.
#pragma once

#include <string>

#include "catalog/catalog.h"
#include "common/status.h"

namespace glint::control {

inline constexpr const char* kDefaultMetadefsDir = "/usr/share/glance-common/metadefs";

struct MetadefLoadReport {
  int loaded = 0;   // namespaces created
  int skipped = 0;  // already present (kept as they are, unless overwrite)
};

// Loads every *.json file of `dir` (sorted by name). A namespace already in the catalog
// is skipped, or with `overwrite` replaced. Resource types the files name are created
// protected. A file that is not a valid definition fails the load with its name.
Result<MetadefLoadReport> LoadMetadefFiles(catalog::Catalog& catalog, const std::string& dir, bool overwrite,
                                           int64_t now);
// Deletes every namespace (with its contents) and every association. Returns how many
// namespaces were deleted.
Result<int> UnloadMetadefs(catalog::Catalog& catalog);
// Writes one file per namespace into `dir` (created if missing), named like Glance's: the
// display name (else the namespace) without non-word characters, plus ".json". Returns
// how many were written.
Result<int> ExportMetadefFiles(catalog::Catalog& catalog, const std::string& dir);

}  // namespace glint::control
