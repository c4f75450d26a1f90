// ManifestBackfill: chunk manifests for images that predate them (uploaded before manifests
// existed, or adopted from Glance). Reads an image's data once from its first readable
// location, checks it against the image's size, checksum and os_hash, and stores the
// manifest bound to those facts (Catalog::AddManifest refuses if the image changed or
// already has one). Used by `glint-manage manifest-backfill` and by glint-api's background
// loop ([glint] manifest_backfill_interval); runs on the caller's thread, never on an I/O
// thread. Several API nodes may run it at once: the catalog insert is checked and keyed
// on the image id, so the worst case is one image read twice, never two manifests.
#pragma once

#include <optional>

#include "catalog/catalog.h"
#include "common/chunk_manifest.h"
#include "store/store_set.h"

namespace glint::control {

class ManifestBackfill {
 public:
  ManifestBackfill(catalog::Catalog& catalog, store::StoreSet& stores) : catalog_(catalog), stores_(stores) {}

  // One image's manifest from its data. NotFound when no location is readable,
  // Corruption when the data does not match the image's facts, InvalidArgument for an
  // os_hash_algo Glint cannot compute.
  Status Backfill(const catalog::ImageRecord& image);
  // Up to `limit` images without a manifest, oldest first; `done` counts the stored ones.
  // Failures are logged and skipped (the next pass tries them again).
  Status RunPass(int limit, int* done);

 private:
  catalog::Catalog& catalog_;
  store::StoreSet& stores_;
};

// copy-image read the whole data of `image` anyway: if the image has no manifest yet, the
// one built during the copy (unbound: no os_hash was computed) is bound to the image's
// facts and stored. The copy already checked the data's md5 against the image checksum.
void AdoptCopyManifest(catalog::Catalog& catalog, const catalog::ImageRecord& image,
                       std::optional<ChunkManifest> manifest);

}  // namespace glint::control
