// Image rows and their child rows (properties, tags, locations) as SQL reads and writes,
// shared by the SqlCatalog files. Internal to catalog/; every function runs on the
// connection its caller holds, inside the caller's transaction if it has one.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "catalog/image_record.h"
#include "common/chunk_manifest.h"
#include "common/status.h"
#include "sql/db.h"

namespace glint::catalog {

// The images columns ReadImage expects, in its order.
extern const char* const kImageColumns;

// One row selected as kImageColumns, without its child rows.
ImageRecord ReadImage(const sql::Stmt& s);

// The one INSERT of an image row (new images and adopted ones).
Status InsertImageRow(sql::Db& db, const ImageRecord& image, bool deleted);
// Appends an active location after the image's existing ones.
Status InsertLocation(sql::Db& db, const std::string& id, const ImageLocation& location);
// Whether a live image other than `except_image_id` has a location with `url`.
Result<bool> LocationReferencedIn(sql::Db& db, const std::string& url, const std::string& except_image_id);
// Inserts the image's properties and tags (the caller removed any old ones).
Status WriteChildren(sql::Db& db, const ImageRecord& image);
// Sets (inserts or overwrites) the image's properties named in `properties`.
Status SetProperties(sql::Db& db, const std::string& id, const std::map<std::string, std::string>& properties);
// Fills properties, tags and locations of `images` with one query per child table.
Status LoadChildren(sql::Db& db, std::vector<ImageRecord>& images,
                    bool include_pending_delete = false);
// A chunk manifest's header and chunk rows (manifests.cc); DeleteManifest removes both.
Status InsertManifest(sql::Db& db, const ChunkManifest& manifest);
Status DeleteManifest(sql::Db& db, const std::string& image_id);
// The image's boot reports (boot_reports.cc), removed with the image.
Status DeleteBootReports(sql::Db& db, const std::string& image_id);

}  // namespace glint::catalog
