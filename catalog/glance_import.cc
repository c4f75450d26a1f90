#include "catalog/glance_import.h"

#include <nlohmann/json.hpp>

#include <charconv>

#include "catalog/catalog.h"
#include "common/ids.h"
#include "sql/sqlite_db.h"

namespace glint::catalog {
namespace {

using sql::Db;

class SqliteGlanceSource : public GlanceSource {
 public:
  explicit SqliteGlanceSource(std::unique_ptr<Db> db) : db_(std::move(db)) {}
  ~SqliteGlanceSource() override { (void)db_->Exec("ROLLBACK"); }

  Result<std::vector<Row>> Query(const std::string& sql, const std::optional<std::string>& param) override {
    auto st = db_->Prepare(sql);
    if (!st.ok()) return st.status();
    if (param) st->Bind(1, *param);
    std::vector<Row> rows;
    for (;;) {
      auto more = st->Step();
      if (!more.ok()) return more.status();
      if (!*more) break;
      Row row;
      for (int i = 0; i < st->Columns(); ++i) row.push_back(st->OptText(i));
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  std::unique_ptr<Db> db_;
};

int64_t TimeOf(const std::optional<std::string>& t) { return t ? ParseIso(*t).value_or(0) : 0; }
std::optional<int64_t> OptIntOf(const std::optional<std::string>& v) {
  int64_t n = 0;
  if (!v || std::from_chars(v->data(), v->data() + v->size(), n).ec != std::errc()) return std::nullopt;
  return n;
}
int64_t IntOf(const std::optional<std::string>& v) { return OptIntOf(v).value_or(0); }
// Booleans: SQLite and MySQL both give 0/1.
bool BoolOf(const std::optional<std::string>& v) { return v && *v != "0" && !v->empty(); }

}  // namespace

Result<GlanceConnection> ParseGlanceConnection(const std::string& url) {
  return sql::ParseConnectionUrl(url);
}

Result<std::unique_ptr<GlanceSource>> OpenGlanceSource(const std::string& url) {
  auto c = ParseGlanceConnection(url);
  if (!c.ok()) return c.status();
  if (c->engine == "mysql") return OpenMysqlGlanceSource(*c);
  auto db = sql::OpenSqliteReadOnly(c->path);
  if (!db.ok()) return db.status();
  auto check = (*db)->Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'images'");
  if (!check.ok()) return check.status();
  auto row = check->Step();
  if (!row.ok()) return row.status();
  if (check->Int(0) == 0) return Status::NotFound("no Glance catalog (table `images`) in " + c->path);
  if (Status s = (*db)->Exec("BEGIN"); !s.ok()) return s;
  return std::unique_ptr<GlanceSource>(new SqliteGlanceSource(std::move(*db)));
}

namespace {

using Row = std::vector<std::optional<std::string>>;

// Glance's images row as an ImageRecord (`deleted` gets whether the id is only reserved).
ImageRecord ImageOf(const Row& img, bool* deleted) {
  ImageRecord r;
  r.id = img[0].value_or("");
  r.name = img[1];
  r.size = OptIntOf(img[2]);
  std::string status = img[3].value_or("");
  r.created_at = TimeOf(img[4]);
  r.updated_at = img[5] ? TimeOf(img[5]) : r.created_at;
  *deleted = BoolOf(img[6]) || status == "deleted" || status == "pending_delete";
  r.disk_format = img[7];
  r.container_format = img[8];
  r.checksum = img[9];
  r.owner = img[10];
  r.min_disk = IntOf(img[11]);
  r.min_ram = IntOf(img[12]);
  r.is_protected = BoolOf(img[13]);
  r.virtual_size = OptIntOf(img[14]);
  r.visibility = img[15].value_or("shared");
  r.os_hidden = BoolOf(img[16]);
  r.os_hash_algo = img[17];
  r.os_hash_value = img[18];
  // Glint never keeps an image half-uploaded (saving, uploading, importing): those go
  // back to queued, without data facts.
  r.status = (status == kActive || status == kDeactivated || status == kQueued) ? status : kQueued;
  return r;
}

Status LoadLocations(GlanceSource& source, ImageRecord& r) {
  auto locs = source.Query(
      "SELECT value, meta_data FROM image_locations WHERE image_id = ? AND deleted = 0 "
      "AND status = 'active' ORDER BY id", r.id);
  if (!locs.ok()) return locs.status();
  for (const auto& l : *locs) {
    ImageLocation loc;
    loc.url = l[0].value_or("");
    loc.metadata_json = l[1].value_or("{}");
    auto meta = nlohmann::json::parse(loc.metadata_json, nullptr, false);
    if (meta.is_object() && meta.contains("store") && meta["store"].is_string()) {
      loc.store = meta["store"].get<std::string>();
    } else {
      loc.store = loc.url.substr(0, loc.url.find("://"));  // single-store: the type
    }
    r.locations.push_back(std::move(loc));
  }
  return Status::Ok();
}

// Properties, tags, locations and members of a live image.
Status LoadChildren(GlanceSource& source, ImageRecord& r, std::vector<ImageMember>* members) {
  auto props = source.Query("SELECT name, value FROM image_properties WHERE image_id = ? AND deleted = 0", r.id);
  if (!props.ok()) return props.status();
  for (const auto& p : *props) {
    if (p[0] && *p[0] != "stores") r.properties[*p[0]] = p[1].value_or("");  // Glint derives `stores`
  }
  auto tags = source.Query("SELECT DISTINCT value FROM image_tags WHERE image_id = ? AND deleted = 0 ORDER BY value",
                           r.id);
  if (!tags.ok()) return tags.status();
  for (const auto& t : *tags) r.tags.push_back(t[0].value_or(""));
  GLINT_RETURN_IF_ERROR(LoadLocations(source, r));
  auto mems = source.Query(
      "SELECT member, status, created_at, updated_at FROM image_members WHERE image_id = ? AND deleted = 0", r.id);
  if (!mems.ok()) return mems.status();
  for (const auto& m : *mems) {
    int64_t created = TimeOf(m[2]);
    members->push_back({r.id, m[0].value_or(""), m[1].value_or("pending"), created, m[3] ? TimeOf(m[3]) : created});
  }
  if (r.locations.empty()) r.status = kQueued;  // no data anywhere: nothing to serve
  return Status::Ok();
}

}  // namespace

Result<ImportCounts> ImportGlanceCatalog(GlanceSource& source, Catalog& catalog) {
  ImportCounts counts;
  auto images = source.Query(
      "SELECT id, name, size, status, created_at, updated_at, deleted, disk_format, container_format, "
      "checksum, owner, min_disk, min_ram, protected, virtual_size, visibility, os_hidden, os_hash_algo, "
      "os_hash_value FROM images ORDER BY created_at, id");
  if (!images.ok()) return images.status();
  for (const auto& img : *images) {
    bool deleted = false;
    ImageRecord r = ImageOf(img, &deleted);
    std::vector<ImageMember> members;
    if (!deleted) GLINT_RETURN_IF_ERROR(LoadChildren(source, r, &members));
    if (r.status == kQueued) {
      r.size.reset();
      r.checksum.reset();
      r.os_hash_algo.reset();
      r.os_hash_value.reset();
      r.virtual_size.reset();
    } else {
      r.activated_at = r.updated_at;
    }
    Status s = catalog.ImportImage(r, deleted, members);
    if (s.code() == Status::Code::kConflict) {
      ++counts.skipped;
      continue;
    }
    if (!s.ok()) return s.Prefixed("image " + r.id + ": ");
    deleted ? ++counts.deleted_ids : ++counts.imported;
  }
  return counts;
}

}  // namespace glint::catalog
