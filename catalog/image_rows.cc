#include "catalog/image_rows.h"

#include <algorithm>
#include <unordered_map>

namespace glint::catalog {

using sql::Db;
using sql::Stmt;

const char* const kImageColumns =
    "id, name, status, visibility, owner, disk_format, container_format, size, "
    "virtual_size, checksum, os_hash_algo, os_hash_value, min_disk, min_ram, protected, "
    "os_hidden, created_at, updated_at, activated_at, version";

ImageRecord ReadImage(const Stmt& s) {
  ImageRecord r;
  r.id = s.Text(0);
  r.name = s.OptText(1);
  r.status = s.Text(2);
  r.visibility = s.Text(3);
  r.owner = s.OptText(4);
  r.disk_format = s.OptText(5);
  r.container_format = s.OptText(6);
  r.size = s.OptInt(7);
  r.virtual_size = s.OptInt(8);
  r.checksum = s.OptText(9);
  r.os_hash_algo = s.OptText(10);
  r.os_hash_value = s.OptText(11);
  r.min_disk = s.Int(12);
  r.min_ram = s.Int(13);
  r.is_protected = s.Int(14) != 0;
  r.os_hidden = s.Int(15) != 0;
  r.created_at = s.Int(16);
  r.updated_at = s.Int(17);
  r.activated_at = s.OptInt(18);
  r.version = s.Int(19);
  return r;
}

Status InsertImageRow(Db& db, const ImageRecord& image, bool deleted) {
  auto st = db.Prepare(
      "INSERT INTO images (id, name, status, visibility, owner, disk_format, container_format, size, "
      "virtual_size, checksum, os_hash_algo, os_hash_value, min_disk, min_ram, protected, os_hidden, "
      "created_at, updated_at, activated_at, deleted_at, deleted, version) "
      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0)");
  if (!st.ok()) return st.status();
  int i = 1;
  st->Bind(i++, image.id);
  st->Bind(i++, image.name);
  st->Bind(i++, deleted ? std::string(kDeleted) : image.status);
  st->Bind(i++, image.visibility);
  st->Bind(i++, image.owner);
  st->Bind(i++, image.disk_format);
  st->Bind(i++, image.container_format);
  st->Bind(i++, image.size);
  st->Bind(i++, image.virtual_size);
  st->Bind(i++, image.checksum);
  st->Bind(i++, image.os_hash_algo);
  st->Bind(i++, image.os_hash_value);
  st->Bind(i++, image.min_disk);
  st->Bind(i++, image.min_ram);
  st->Bind(i++, image.is_protected);
  st->Bind(i++, image.os_hidden);
  st->Bind(i++, image.created_at);
  st->Bind(i++, image.updated_at);
  st->Bind(i++, image.activated_at);
  st->Bind(i++, deleted ? std::optional<int64_t>(image.updated_at) : std::nullopt);
  st->Bind(i++, deleted);
  return st->Run();
}

Status InsertLocation(Db& db, const std::string& id, const ImageLocation& location) {
  // The next position, read first: MySQL cannot insert into a table it reads in the same
  // statement. The caller's transaction already updated the image row, which orders
  // concurrent writers of one image's locations.
  auto next = db.Prepare("SELECT COALESCE(MAX(position), -1) + 1 FROM image_locations WHERE image_id = ?");
  if (!next.ok()) return next.status();
  next->Bind(1, id);
  auto row = next->Step();
  if (!row.ok()) return row.status();
  int64_t position = *row ? next->Int(0) : 0;
  auto loc = db.Prepare(
      "INSERT INTO image_locations (image_id, position, url, metadata, store, status) "
      "VALUES (?, ?, ?, ?, ?, 'active')");
  if (!loc.ok()) return loc.status();
  loc->Bind(1, id);
  loc->Bind(2, position);
  loc->Bind(3, location.url);
  loc->Bind(4, location.metadata_json.empty() ? std::string("{}") : location.metadata_json);
  loc->Bind(5, location.store);
  return loc->Run();
}

Status SetProperties(Db& db, const std::string& id, const std::map<std::string, std::string>& properties) {
  for (const auto& [k, v] : properties) {
    auto del = db.Prepare("DELETE FROM image_properties WHERE image_id = ? AND name = ?");
    if (!del.ok()) return del.status();
    del->Bind(1, id);
    del->Bind(2, k);
    GLINT_RETURN_IF_ERROR(del->Run());
    auto st = db.Prepare("INSERT INTO image_properties (image_id, name, value) VALUES (?,?,?)");
    if (!st.ok()) return st.status();
    st->Bind(1, id);
    st->Bind(2, k);
    st->Bind(3, v);
    GLINT_RETURN_IF_ERROR(st->Run());
  }
  return Status::Ok();
}

Status WriteChildren(Db& db, const ImageRecord& image) {
  for (const auto& [k, v] : image.properties) {
    auto st = db.Prepare("INSERT INTO image_properties (image_id, name, value) VALUES (?,?,?)");
    if (!st.ok()) return st.status();
    st->Bind(1, image.id);
    st->Bind(2, k);
    st->Bind(3, v);
    GLINT_RETURN_IF_ERROR(st->Run());
  }
  for (const auto& t : image.tags) {
    auto st = db.Prepare("INSERT INTO image_tags (image_id, value) VALUES (?,?)");
    if (!st.ok()) return st.status();
    st->Bind(1, image.id);
    st->Bind(2, t);
    GLINT_RETURN_IF_ERROR(st->Run());
  }
  return Status::Ok();
}

// One query for the images' properties, tags and locations (one round trip to the
// database, which matters behind a proxy: a list is its page query plus this): rows of
// kind 0 (property: name, value), 1 (tag: value) and 2 (location: url, metadata, store,
// position). Sorted here: an ORDER BY over the union makes MariaDB build a temporary
// table (the columns are TEXT), which costs more than the two round trips saved.
Status LoadChildren(Db& db, std::vector<ImageRecord>& images,
                    bool include_pending_delete) {
  if (images.empty()) return Status::Ok();
  std::unordered_map<std::string, ImageRecord*> by_id;
  std::string in = "(";
  for (size_t i = 0; i < images.size(); ++i) {
    by_id[images[i].id] = &images[i];
    in += i ? ",?" : "?";
  }
  in += ")";
  std::string query =
      "SELECT 0, image_id, name, value, NULL, 0 FROM image_properties WHERE image_id IN " + in +
      " UNION ALL SELECT 1, image_id, value, NULL, NULL, 0 FROM image_tags WHERE image_id IN " + in +
      " UNION ALL SELECT 2, image_id, url, metadata, store, position FROM image_locations WHERE image_id IN " + in +
      (include_pending_delete ? "" : " AND status = 'active'");
  auto st = db.Prepare(query);
  if (!st.ok()) return st.status();
  int arg = 1;
  for (int part = 0; part < 3; ++part) {
    for (const auto& image : images) st->Bind(arg++, image.id);
  }
  std::unordered_map<ImageRecord*, std::vector<std::pair<int64_t, ImageLocation>>> locations;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    ImageRecord* r = by_id[st->Text(1)];
    if (!r) continue;
    switch (st->Int(0)) {
      case 0: r->properties[st->Text(2)] = st->Text(3); break;
      case 1: r->tags.push_back(st->Text(2)); break;
      default: locations[r].emplace_back(st->Int(5), ImageLocation{st->Text(2), st->Text(3), st->Text(4)});
    }
  }
  for (auto& image : images) std::sort(image.tags.begin(), image.tags.end());
  for (auto& [r, locs] : locations) {
    std::sort(locs.begin(), locs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& l : locs) r->locations.push_back(std::move(l.second));
  }
  return Status::Ok();
}

}  // namespace glint::catalog
