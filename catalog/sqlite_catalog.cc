// The embedded catalog backend: SQLite in WAL mode, a pool of connections (one per
// concurrently running worker), versioned migrations, prepared statements only.
// SQL is kept to what PostgreSQL and MySQL also accept, except the PRAGMAs in sql/sqlite_db.cc.
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>

#include "catalog/catalog.h"
#include "common/ids.h"
#include "sql/sqlite_db.h"

namespace glint::catalog {
namespace {

using sql::Db;
using sql::SqlValue;
using sql::Stmt;
using sql::Transaction;

// Each migration moves the schema from version index to index + 1.
const std::vector<std::vector<std::string>> kMigrations = {
    {
        R"(CREATE TABLE images (
          id VARCHAR(36) NOT NULL PRIMARY KEY,
          name VARCHAR(255),
          status VARCHAR(30) NOT NULL,
          visibility VARCHAR(20) NOT NULL,
          owner VARCHAR(255),
          disk_format VARCHAR(20),
          container_format VARCHAR(20),
          size BIGINT,
          virtual_size BIGINT,
          checksum VARCHAR(32),
          os_hash_algo VARCHAR(64),
          os_hash_value VARCHAR(128),
          min_disk INTEGER NOT NULL DEFAULT 0,
          min_ram INTEGER NOT NULL DEFAULT 0,
          protected SMALLINT NOT NULL DEFAULT 0,
          os_hidden SMALLINT NOT NULL DEFAULT 0,
          created_at BIGINT NOT NULL,
          updated_at BIGINT NOT NULL,
          activated_at BIGINT,
          deleted_at BIGINT,
          deleted SMALLINT NOT NULL DEFAULT 0,
          version BIGINT NOT NULL DEFAULT 0,
          upload_token VARCHAR(64),
          upload_node VARCHAR(255),
          upload_expires BIGINT))",
        "CREATE INDEX ix_images_created ON images (deleted, created_at, id)",
        "CREATE INDEX ix_images_name ON images (name)",
        "CREATE INDEX ix_images_owner ON images (owner)",
        "CREATE INDEX ix_images_upload ON images (upload_token)",
        R"(CREATE TABLE image_properties (
          image_id VARCHAR(36) NOT NULL REFERENCES images (id),
          name VARCHAR(255) NOT NULL,
          value TEXT NOT NULL,
          PRIMARY KEY (image_id, name)))",
        "CREATE INDEX ix_image_properties_name ON image_properties (name)",
        R"(CREATE TABLE image_tags (
          image_id VARCHAR(36) NOT NULL REFERENCES images (id),
          value VARCHAR(255) NOT NULL,
          PRIMARY KEY (image_id, value)))",
        "CREATE INDEX ix_image_tags_value ON image_tags (value)",
        R"(CREATE TABLE image_locations (
          image_id VARCHAR(36) NOT NULL REFERENCES images (id),
          position INTEGER NOT NULL,
          url TEXT NOT NULL,
          metadata TEXT NOT NULL,
          store VARCHAR(255) NOT NULL,
          status VARCHAR(30) NOT NULL,
          PRIMARY KEY (image_id, position)))",
        R"(CREATE TABLE image_members (
          image_id VARCHAR(36) NOT NULL REFERENCES images (id),
          member VARCHAR(255) NOT NULL,
          status VARCHAR(20) NOT NULL,
          created_at BIGINT NOT NULL,
          updated_at BIGINT NOT NULL,
          PRIMARY KEY (image_id, member)))",
        "CREATE INDEX ix_image_members_member ON image_members (member, status)",
    },
    {
        // A counter bumped by every change to what listings show, so clients can poll
        // cheaply (ETag / If-None-Match on GET /v2/images). Kept by triggers so that no
        // code path can forget it.
        "CREATE TABLE glint_generation (id INTEGER NOT NULL PRIMARY KEY, value BIGINT NOT NULL)",
        "INSERT INTO glint_generation (id, value) VALUES (1, 1)",
        "CREATE TRIGGER tg_images_insert AFTER INSERT ON images BEGIN "
        "UPDATE glint_generation SET value = value + 1 WHERE id = 1; END",
        "CREATE TRIGGER tg_images_update AFTER UPDATE ON images "
        "WHEN NEW.version <> OLD.version BEGIN "
        "UPDATE glint_generation SET value = value + 1 WHERE id = 1; END",
        "CREATE TRIGGER tg_members_insert AFTER INSERT ON image_members BEGIN "
        "UPDATE glint_generation SET value = value + 1 WHERE id = 1; END",
        "CREATE TRIGGER tg_members_update AFTER UPDATE ON image_members BEGIN "
        "UPDATE glint_generation SET value = value + 1 WHERE id = 1; END",
        "CREATE TRIGGER tg_members_delete AFTER DELETE ON image_members BEGIN "
        "UPDATE glint_generation SET value = value + 1 WHERE id = 1; END",
    },
    // v3: import tasks (Glance's `tasks` for api_image_import), any node can report them.
    {
        R"(CREATE TABLE tasks (
          id VARCHAR(36) NOT NULL PRIMARY KEY,
          image_id VARCHAR(36) NOT NULL,
          type VARCHAR(30) NOT NULL,
          status VARCHAR(30) NOT NULL,
          owner VARCHAR(255),
          user_id VARCHAR(255),
          request_id VARCHAR(255),
          input TEXT NOT NULL,
          result TEXT,
          message TEXT NOT NULL,
          created_at BIGINT NOT NULL,
          updated_at BIGINT NOT NULL,
          expires_at BIGINT,
          lock_token VARCHAR(64),
          lock_node VARCHAR(255),
          lock_expires BIGINT))",
        "CREATE INDEX ix_tasks_image ON tasks (image_id, created_at)",
    },
};

const char* kImageColumns =
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

// Columns a listing may filter or sort on; anything else never reaches SQL text.
const std::set<std::string> kFilterColumns = {
    "id",          "name",     "status",        "visibility",   "owner",
    "disk_format", "container_format", "size", "virtual_size", "checksum",
    "os_hash_value", "min_disk", "min_ram",     "protected",    "created_at",
    "updated_at"};
const std::set<std::string> kIntColumns = {"size",     "virtual_size", "min_disk", "min_ram",
                                           "protected", "created_at",  "updated_at"};

class SqliteCatalog final : public Catalog {
 public:
  explicit SqliteCatalog(std::string path) : path_(std::move(path)) {}

  Status Init() {
    auto db = Db::Open(path_);
    if (!db.ok()) return db.status();
    GLINT_RETURN_IF_ERROR(Migrate(**db));
    Release(std::move(db).value());
    return Status::Ok();
  }

  Status CreateImage(const ImageRecord& image) override {
    return WithDb([&](Db& db) -> Status {
      Transaction tx(db);
      GLINT_RETURN_IF_ERROR(tx.status());
      {
        auto st = db.Prepare("SELECT deleted FROM images WHERE id = ?");
        if (!st.ok()) return st.status();
        st->Bind(1, image.id);
        auto row = st->Step();
        if (!row.ok()) return row.status();
        if (*row) return Status::Conflict("Image with identifier " + image.id + " already exists!");
      }
      GLINT_RETURN_IF_ERROR(InsertImageRow(db, image, /*deleted=*/false));
      GLINT_RETURN_IF_ERROR(WriteChildren(db, image));
      return tx.Commit();
    });
  }

  Result<ImageRecord> GetImage(const std::string& id) override {
    auto r = GetImageAnyStatus(id);
    if (r.ok() && r->status == kDeleted) return Status::NotFound("No image found with ID " + id);
    return r;
  }

  Result<ImageRecord> GetImageAnyStatus(const std::string& id) override {
    std::optional<ImageRecord> out;
    Status s = WithDb([&](Db& db) -> Status {
      auto st = db.Prepare(std::string("SELECT ") + kImageColumns + " FROM images WHERE id = ?");
      if (!st.ok()) return st.status();
      st->Bind(1, id);
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::NotFound("No image found with ID " + id);
      ImageRecord r = ReadImage(*st);
      std::vector<ImageRecord> one{std::move(r)};
      GLINT_RETURN_IF_ERROR(LoadChildren(db, one));
      out = std::move(one[0]);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return std::move(*out);
  }

  Result<std::vector<ImageRecord>> ListImages(const ListQuery& q) override {
    std::vector<ImageRecord> out;
    Status s = WithDb([&](Db& db) -> Status { return List(db, q, &out); });
    if (!s.ok()) return s;
    return out;
  }

  Status UpdateImage(const ImageRecord& image) override {
    return WithDb([&](Db& db) -> Status {
      Transaction tx(db);
      GLINT_RETURN_IF_ERROR(tx.status());
      auto st = db.Prepare(
          "UPDATE images SET name = ?, visibility = ?, owner = ?, disk_format = ?, "
          "container_format = ?, min_disk = ?, min_ram = ?, protected = ?, os_hidden = ?, "
          "updated_at = ?, version = version + 1 "
          "WHERE id = ? AND version = ? AND deleted = 0");
      if (!st.ok()) return st.status();
      int i = 1;
      st->Bind(i++, image.name);
      st->Bind(i++, image.visibility);
      st->Bind(i++, image.owner);
      st->Bind(i++, image.disk_format);
      st->Bind(i++, image.container_format);
      st->Bind(i++, image.min_disk);
      st->Bind(i++, image.min_ram);
      st->Bind(i++, image.is_protected);
      st->Bind(i++, image.os_hidden);
      st->Bind(i++, image.updated_at);
      st->Bind(i++, image.id);
      st->Bind(i++, image.version);
      GLINT_RETURN_IF_ERROR(st->Run());
      if (db.Changes() == 0) {
        return Status::Conflict("image " + image.id + " changed concurrently; retry");
      }
      for (const char* sql : {"DELETE FROM image_properties WHERE image_id = ?",
                              "DELETE FROM image_tags WHERE image_id = ?"}) {
        auto del = db.Prepare(sql);
        if (!del.ok()) return del.status();
        del->Bind(1, image.id);
        GLINT_RETURN_IF_ERROR(del->Run());
      }
      GLINT_RETURN_IF_ERROR(WriteChildren(db, image));
      return tx.Commit();
    });
  }

  Status TransitionStatus(const std::string& id, const std::string& from,
                          const std::string& to) override {
    return WithDb([&](Db& db) -> Status {
      auto st = db.Prepare(
          "UPDATE images SET status = ?, updated_at = ?, version = version + 1 "
          "WHERE id = ? AND status = ? AND deleted = 0");
      if (!st.ok()) return st.status();
      st->Bind(1, to);
      st->Bind(2, NowMicros());
      st->Bind(3, id);
      st->Bind(4, from);
      GLINT_RETURN_IF_ERROR(st->Run());
      if (db.Changes() == 0) return Status::Conflict("image " + id + " is not " + from);
      return Status::Ok();
    });
  }

  Result<ImageRecord> DeleteImage(const std::string& id) override {
    std::optional<ImageRecord> before;
    Status s = WithDb([&](Db& db) -> Status {
      Transaction tx(db);
      GLINT_RETURN_IF_ERROR(tx.status());
      auto st = db.Prepare(std::string("SELECT ") + kImageColumns +
                           " FROM images WHERE id = ? AND deleted = 0");
      if (!st.ok()) return st.status();
      st->Bind(1, id);
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::NotFound("No image found with ID " + id);
      std::vector<ImageRecord> one{ReadImage(*st)};
      GLINT_RETURN_IF_ERROR(LoadChildren(db, one));
      before = std::move(one[0]);
      int64_t now = NowMicros();
      auto up = db.Prepare(
          "UPDATE images SET status = 'deleted', deleted = 1, deleted_at = ?, updated_at = ?, "
          "upload_token = NULL, upload_node = NULL, upload_expires = NULL, "
          "version = version + 1 WHERE id = ?");
      if (!up.ok()) return up.status();
      up->Bind(1, now);
      up->Bind(2, now);
      up->Bind(3, id);
      GLINT_RETURN_IF_ERROR(up->Run());
      auto loc = db.Prepare(
          "UPDATE image_locations SET status = 'pending_delete' WHERE image_id = ?");
      if (!loc.ok()) return loc.status();
      loc->Bind(1, id);
      GLINT_RETURN_IF_ERROR(loc->Run());
      auto mem = db.Prepare("DELETE FROM image_members WHERE image_id = ?");
      if (!mem.ok()) return mem.status();
      mem->Bind(1, id);
      GLINT_RETURN_IF_ERROR(mem->Run());
      return tx.Commit();
    });
    if (!s.ok()) return s;
    return std::move(*before);
  }

  Status ForgetLocations(const std::string& id) override {
    return WithDb([&](Db& db) -> Status {
      auto st = db.Prepare("DELETE FROM image_locations WHERE image_id = ?");
      if (!st.ok()) return st.status();
      st->Bind(1, id);
      return st->Run();
    });
  }

  Status RemoveLocation(const std::string& id, const std::string& url) override {
    return WithDb([&](Db& db) -> Status {
      Transaction tx(db);
      GLINT_RETURN_IF_ERROR(tx.status());
      auto st = db.Prepare("DELETE FROM image_locations WHERE image_id = ? AND url = ?");
      if (!st.ok()) return st.status();
      st->Bind(1, id);
      st->Bind(2, url);
      GLINT_RETURN_IF_ERROR(st->Run());
      if (db.Changes() == 0) return Status::NotFound("location not found");
      auto up = db.Prepare("UPDATE images SET updated_at = ?, version = version + 1 WHERE id = ?");
      if (!up.ok()) return up.status();
      up->Bind(1, NowMicros());
      up->Bind(2, id);
      GLINT_RETURN_IF_ERROR(up->Run());
      return tx.Commit();
    });
  }

  Status ImportImage(const ImageRecord& image, bool deleted, const std::vector<ImageMember>& members) override {
    return WithDb([&](Db& db) -> Status {
      Transaction tx(db);
      GLINT_RETURN_IF_ERROR(tx.status());
      Status s = InsertImageRow(db, image, deleted);
      if (s.code() == Status::Code::kConflict) return Status::Conflict("image " + image.id + " already exists");
      GLINT_RETURN_IF_ERROR(s);
      if (deleted) return tx.Commit();
      GLINT_RETURN_IF_ERROR(WriteChildren(db, image));
      for (const auto& l : image.locations) GLINT_RETURN_IF_ERROR(InsertLocation(db, image.id, l));
      for (const auto& m : members) {
        auto mem = db.Prepare(
            "INSERT INTO image_members (image_id, member, status, created_at, updated_at) VALUES (?,?,?,?,?)");
        if (!mem.ok()) return mem.status();
        mem->Bind(1, image.id);
        mem->Bind(2, m.member);
        mem->Bind(3, m.status);
        mem->Bind(4, m.created_at);
        mem->Bind(5, m.updated_at);
        GLINT_RETURN_IF_ERROR(mem->Run());
      }
      return tx.Commit();
    });
  }

  Status AddLocation(const std::string& id, const ImageLocation& location,
                     const std::optional<ImageRecord>& activate) override {
    return WithDb([&](Db& db) -> Status {
      Transaction tx(db);
      GLINT_RETURN_IF_ERROR(tx.status());
      int64_t now = NowMicros();
      auto up = activate
                    ? db.Prepare("UPDATE images SET status = 'active', size = ?, checksum = ?, os_hash_algo = ?, "
                                 "os_hash_value = ?, virtual_size = ?, activated_at = ?, updated_at = ?, "
                                 "version = version + 1 WHERE id = ? AND status = 'queued' AND deleted = 0")
                    : db.Prepare("UPDATE images SET updated_at = ?, version = version + 1 "
                                 "WHERE id = ? AND status = 'active' AND deleted = 0");
      if (!up.ok()) return up.status();
      int i = 1;
      if (activate) {
        up->Bind(i++, activate->size);
        up->Bind(i++, activate->checksum);
        up->Bind(i++, activate->os_hash_algo);
        up->Bind(i++, activate->os_hash_value);
        up->Bind(i++, activate->virtual_size);
        up->Bind(i++, now);
      }
      up->Bind(i++, now);
      up->Bind(i++, id);
      GLINT_RETURN_IF_ERROR(up->Run());
      if (db.Changes() == 0) return Status::Conflict("image " + id + " changed state; locations not updated");
      GLINT_RETURN_IF_ERROR(InsertLocation(db, id, location));
      return tx.Commit();
    });
  }

  Status ReplaceLocations(const std::string& id, const std::vector<ImageLocation>& locations) override {
    return WithDb([&](Db& db) -> Status {
      Transaction tx(db);
      GLINT_RETURN_IF_ERROR(tx.status());
      auto up = db.Prepare("UPDATE images SET updated_at = ?, version = version + 1 "
                           "WHERE id = ? AND status = 'active' AND deleted = 0");
      if (!up.ok()) return up.status();
      up->Bind(1, NowMicros());
      up->Bind(2, id);
      GLINT_RETURN_IF_ERROR(up->Run());
      if (db.Changes() == 0) return Status::Conflict("image " + id + " is not active");
      auto del = db.Prepare("DELETE FROM image_locations WHERE image_id = ? AND status = 'active'");
      if (!del.ok()) return del.status();
      del->Bind(1, id);
      GLINT_RETURN_IF_ERROR(del->Run());
      for (const auto& l : locations) GLINT_RETURN_IF_ERROR(InsertLocation(db, id, l));
      return tx.Commit();
    });
  }

  // The one INSERT of an image row (new images and adopted ones).
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
    auto loc = db.Prepare(
        "INSERT INTO image_locations (image_id, position, url, metadata, store, status) "
        "VALUES (?, (SELECT COALESCE(MAX(position), -1) + 1 FROM image_locations "
        "WHERE image_id = ?), ?, ?, ?, 'active')");
    if (!loc.ok()) return loc.status();
    loc->Bind(1, id);
    loc->Bind(2, id);
    loc->Bind(3, location.url);
    loc->Bind(4, location.metadata_json.empty() ? std::string("{}") : location.metadata_json);
    loc->Bind(5, location.store);
    return loc->Run();
  }

  Status BeginUpload(const UploadLock& lock, int64_t expires_at) override {
    return LockedTransition(lock, expires_at, kQueued, kSaving, false,
                            "Image " + lock.image_id + " is already receiving data from another upload");
  }

  Status RenewUpload(const UploadLock& lock, int64_t expires_at) override {
    return WithDb([&](Db& db) -> Status {
      auto st = db.Prepare(
          "UPDATE images SET upload_expires = ? WHERE id = ? AND upload_token = ? "
          "AND status IN ('saving', 'uploading', 'importing')");
      if (!st.ok()) return st.status();
      st->Bind(1, expires_at);
      st->Bind(2, lock.image_id);
      st->Bind(3, lock.token);
      GLINT_RETURN_IF_ERROR(st->Run());
      if (db.Changes() == 0) return Status::Conflict("upload lock on " + lock.image_id + " lost");
      return Status::Ok();
    });
  }

  Status CompleteUpload(const UploadLock& lock, const ImageRecord& facts,
                        const ImageLocation& location) override {
    return WithDb([&](Db& db) -> Status {
      Transaction tx(db);
      GLINT_RETURN_IF_ERROR(tx.status());
      int64_t now = NowMicros();
      auto st = db.Prepare(
          "UPDATE images SET status = 'active', size = ?, virtual_size = ?, checksum = ?, "
          "os_hash_algo = ?, os_hash_value = ?, updated_at = ?, activated_at = ?, "
          "upload_token = NULL, upload_node = NULL, upload_expires = NULL, "
          "version = version + 1 "
          "WHERE id = ? AND upload_token = ? AND status IN ('saving', 'importing') AND deleted = 0");
      if (!st.ok()) return st.status();
      int i = 1;
      st->Bind(i++, facts.size);
      st->Bind(i++, facts.virtual_size);
      st->Bind(i++, facts.checksum);
      st->Bind(i++, facts.os_hash_algo);
      st->Bind(i++, facts.os_hash_value);
      st->Bind(i++, now);
      st->Bind(i++, now);
      st->Bind(i++, lock.image_id);
      st->Bind(i++, lock.token);
      GLINT_RETURN_IF_ERROR(st->Run());
      if (db.Changes() == 0) {
        return Status::Conflict("Image " + lock.image_id +
                                " was deleted or its upload was cancelled during the upload");
      }
      auto loc = db.Prepare(
          "INSERT INTO image_locations (image_id, position, url, metadata, store, status) "
          "VALUES (?, (SELECT COALESCE(MAX(position), -1) + 1 FROM image_locations "
          "WHERE image_id = ?), ?, ?, ?, 'active')");
      if (!loc.ok()) return loc.status();
      loc->Bind(1, lock.image_id);
      loc->Bind(2, lock.image_id);
      loc->Bind(3, location.url);
      loc->Bind(4, location.metadata_json.empty() ? std::string("{}") : location.metadata_json);
      loc->Bind(5, location.store);
      GLINT_RETURN_IF_ERROR(loc->Run());
      return tx.Commit();
    });
  }

  Status AbortUpload(const UploadLock& lock) override {
    return WithDb([&](Db& db) -> Status {
      auto st = db.Prepare(
          "UPDATE images SET status = 'queued', size = NULL, upload_token = NULL, upload_node = NULL, "
          "upload_expires = NULL, updated_at = ?, version = version + 1 "
          "WHERE id = ? AND upload_token = ? AND status IN ('saving', 'uploading', 'importing')");
      if (!st.ok()) return st.status();
      st->Bind(1, NowMicros());
      st->Bind(2, lock.image_id);
      st->Bind(3, lock.token);
      return st->Run();
    });
  }

  // from -> to under a fresh lock; Glance's wording when the image is elsewhere.
  // `busy`: the message when the image is already in `to` (another holder got there).
  Status LockedTransition(const UploadLock& lock, int64_t expires_at, const char* from, const char* to,
                          bool must_be_unlocked, const std::string& busy = "") {
    return WithDb([&](Db& db) -> Status {
      auto st = db.Prepare(std::string("UPDATE images SET status = ?, upload_token = ?, upload_node = ?, "
                                       "upload_expires = ?, updated_at = ?, version = version + 1 "
                                       "WHERE id = ? AND status = ? AND deleted = 0") +
                           (must_be_unlocked ? " AND upload_token IS NULL" : ""));
      if (!st.ok()) return st.status();
      st->Bind(1, to);
      st->Bind(2, lock.token);
      st->Bind(3, lock.node_id);
      st->Bind(4, expires_at);
      st->Bind(5, NowMicros());
      st->Bind(6, lock.image_id);
      st->Bind(7, from);
      GLINT_RETURN_IF_ERROR(st->Run());
      if (db.Changes() == 1) return Status::Ok();
      auto cur = db.Prepare("SELECT status, upload_token FROM images WHERE id = ? AND deleted = 0");
      if (!cur.ok()) return cur.status();
      cur->Bind(1, lock.image_id);
      auto row = cur->Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::NotFound("No image found with ID " + lock.image_id);
      std::string status = cur->Text(0);
      if (status == from) {
        return Status::Conflict("New operation on image '" + lock.image_id +
                                "' is not permitted as prior operation is still in progress");
      }
      if (status == to && !busy.empty()) return Status::Conflict(busy);
      return Status::Conflict("Image status transition from " + status + " to " + to + " is not allowed");
    });
  }

  Status BeginStage(const UploadLock& lock, int64_t expires_at) override {
    return LockedTransition(lock, expires_at, kQueued, kUploading, false);
  }
  Status BeginImport(const UploadLock& lock, int64_t expires_at) override {
    return LockedTransition(lock, expires_at, kUploading, kImporting, true);
  }

  Status FinishStage(const UploadLock& lock, int64_t size) override {
    return WithDb([&](Db& db) -> Status {
      auto st = db.Prepare(
          "UPDATE images SET size = ?, upload_token = NULL, upload_node = NULL, upload_expires = NULL, "
          "updated_at = ?, version = version + 1 WHERE id = ? AND upload_token = ? AND status = 'uploading'");
      if (!st.ok()) return st.status();
      st->Bind(1, size);
      st->Bind(2, NowMicros());
      st->Bind(3, lock.image_id);
      st->Bind(4, lock.token);
      GLINT_RETURN_IF_ERROR(st->Run());
      if (db.Changes() == 0) return Status::Conflict("Image " + lock.image_id + " was deleted while staging");
      return Status::Ok();
    });
  }

  Status ReleaseImport(const UploadLock& lock) override {
    return WithDb([&](Db& db) -> Status {
      auto st = db.Prepare(
          "UPDATE images SET status = 'uploading', upload_token = NULL, upload_node = NULL, "
          "upload_expires = NULL, updated_at = ?, version = version + 1 "
          "WHERE id = ? AND upload_token = ? AND status = 'importing'");
      if (!st.ok()) return st.status();
      st->Bind(1, NowMicros());
      st->Bind(2, lock.image_id);
      st->Bind(3, lock.token);
      return st->Run();
    });
  }

  Status CreateTask(const TaskRecord& t) override {
    return WithDb([&](Db& db) -> Status {
      Transaction tx(db);  // a write transaction: the check and the insert are one step
      GLINT_RETURN_IF_ERROR(tx.status());
      if (t.lock_token) {
        // A task holding a lock (a copy) is exclusive: no other unfinished task on the image.
        auto busy = db.Prepare("SELECT COUNT(*) FROM tasks WHERE image_id = ? AND status IN ('pending', 'processing')");
        if (!busy.ok()) return busy.status();
        busy->Bind(1, t.image_id);
        auto row = busy->Step();
        if (!row.ok()) return row.status();
        if (*row && busy->Int(0) > 0) return Status::Conflict("Image has active task");
      }
      auto st = db.Prepare(
          "INSERT INTO tasks (id, image_id, type, status, owner, user_id, request_id, input, result, message, "
          "created_at, updated_at, expires_at, lock_token, lock_node, lock_expires) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      if (!st.ok()) return st.status();
      int i = 1;
      st->Bind(i++, t.id);
      st->Bind(i++, t.image_id);
      st->Bind(i++, t.type);
      st->Bind(i++, t.status);
      st->Bind(i++, t.owner);
      st->Bind(i++, t.user_id);
      st->Bind(i++, t.request_id);
      st->Bind(i++, t.input_json);
      st->Bind(i++, t.result_json);
      st->Bind(i++, t.message);
      st->Bind(i++, t.created_at);
      st->Bind(i++, t.updated_at);
      st->Bind(i++, t.expires_at);
      st->Bind(i++, t.lock_token);
      st->Bind(i++, t.lock_node);
      st->Bind(i++, t.lock_expires);
      GLINT_RETURN_IF_ERROR(st->Run());
      return tx.Commit();
    });
  }

  Status RenewTask(const std::string& id, const std::string& token, int64_t expires_at) override {
    return WithDb([&](Db& db) -> Status {
      auto st = db.Prepare("UPDATE tasks SET lock_expires = ? WHERE id = ? AND lock_token = ? "
                           "AND status IN ('pending', 'processing')");
      if (!st.ok()) return st.status();
      st->Bind(1, expires_at);
      st->Bind(2, id);
      st->Bind(3, token);
      GLINT_RETURN_IF_ERROR(st->Run());
      if (db.Changes() == 0) return Status::Conflict("task " + id + " lost its lock");
      return Status::Ok();
    });
  }

  Status UpdateTask(const std::string& id, const std::string& status, const std::optional<std::string>& result,
                    const std::string& message) override {
    return WithDb([&](Db& db) -> Status {
      int64_t now = NowMicros();
      bool final = status == "success" || status == "failure";
      // Only an unfinished task changes: one that recovery already failed stays failed.
      auto st = db.Prepare(std::string("UPDATE tasks SET status = ?, result = COALESCE(?, result), message = ?, "
                                       "updated_at = ?, expires_at = ?") +
                           (final ? ", lock_token = NULL" : "") +
                           " WHERE id = ? AND status IN ('pending', 'processing')");
      if (!st.ok()) return st.status();
      st->Bind(1, status);
      st->Bind(2, result);
      st->Bind(3, message);
      st->Bind(4, now);
      st->Bind(5, final ? std::optional<int64_t>(now + int64_t{48} * 3600 * 1000000) : std::nullopt);
      st->Bind(6, id);
      GLINT_RETURN_IF_ERROR(st->Run());
      if (db.Changes() == 0) return Status::Conflict("task " + id + " is already finished");
      return Status::Ok();
    });
  }

  Result<std::vector<TaskRecord>> ListTasks(const std::string& image_id) override {
    std::vector<TaskRecord> out;
    Status s = WithDb([&](Db& db) -> Status {
      auto st = db.Prepare(
          "SELECT id, image_id, type, status, owner, user_id, request_id, input, result, message, created_at, "
          "updated_at, expires_at FROM tasks WHERE image_id = ? AND (expires_at IS NULL OR expires_at > ?) "
          "ORDER BY created_at DESC");
      if (!st.ok()) return st.status();
      st->Bind(1, image_id);
      st->Bind(2, NowMicros());
      for (;;) {
        auto row = st->Step();
        if (!row.ok()) return row.status();
        if (!*row) return Status::Ok();
        TaskRecord t;
        t.id = st->Text(0);
        t.image_id = st->Text(1);
        t.type = st->Text(2);
        t.status = st->Text(3);
        t.owner = st->OptText(4);
        t.user_id = st->OptText(5);
        t.request_id = st->OptText(6);
        t.input_json = st->Text(7);
        t.result_json = st->OptText(8);
        t.message = st->Text(9);
        t.created_at = st->Int(10);
        t.updated_at = st->Int(11);
        t.expires_at = st->OptInt(12);
        out.push_back(std::move(t));
      }
    });
    if (!s.ok()) return s;
    return out;
  }

  Status AddMember(const ImageMember& m) override {
    return WithDb([&](Db& db) -> Status {
      auto st = db.Prepare(
          "INSERT INTO image_members (image_id, member, status, created_at, updated_at) "
          "VALUES (?,?,?,?,?)");
      if (!st.ok()) return st.status();
      st->Bind(1, m.image_id);
      st->Bind(2, m.member);
      st->Bind(3, m.status);
      st->Bind(4, m.created_at);
      st->Bind(5, m.updated_at);
      Status s = st->Run();
      if (s.code() == Status::Code::kConflict) {
        return Status::Conflict("Member " + m.member + " already exists for image " + m.image_id);
      }
      return s;
    });
  }

  Result<ImageMember> GetMember(const std::string& image_id, const std::string& member) override {
    std::optional<ImageMember> out;
    Status s = WithDb([&](Db& db) -> Status {
      auto st = db.Prepare(
          "SELECT image_id, member, status, created_at, updated_at FROM image_members "
          "WHERE image_id = ? AND member = ?");
      if (!st.ok()) return st.status();
      st->Bind(1, image_id);
      st->Bind(2, member);
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::NotFound("Member " + member + " not found for image " + image_id);
      out = ImageMember{st->Text(0), st->Text(1), st->Text(2), st->Int(3), st->Int(4)};
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return *out;
  }

  Result<std::vector<ImageMember>> ListMembers(const std::string& image_id) override {
    std::vector<ImageMember> out;
    Status s = WithDb([&](Db& db) -> Status {
      auto st = db.Prepare(
          "SELECT image_id, member, status, created_at, updated_at FROM image_members "
          "WHERE image_id = ? ORDER BY created_at, member");
      if (!st.ok()) return st.status();
      st->Bind(1, image_id);
      for (;;) {
        auto row = st->Step();
        if (!row.ok()) return row.status();
        if (!*row) return Status::Ok();
        out.push_back({st->Text(0), st->Text(1), st->Text(2), st->Int(3), st->Int(4)});
      }
    });
    if (!s.ok()) return s;
    return out;
  }

  Status UpdateMemberStatus(const std::string& image_id, const std::string& member,
                            const std::string& status) override {
    return WithDb([&](Db& db) -> Status {
      auto st = db.Prepare(
          "UPDATE image_members SET status = ?, updated_at = ? WHERE image_id = ? AND member = ?");
      if (!st.ok()) return st.status();
      st->Bind(1, status);
      st->Bind(2, NowMicros());
      st->Bind(3, image_id);
      st->Bind(4, member);
      GLINT_RETURN_IF_ERROR(st->Run());
      if (db.Changes() == 0) return Status::NotFound("Member " + member + " not found for image " + image_id);
      return Status::Ok();
    });
  }

  Status DeleteMember(const std::string& image_id, const std::string& member) override {
    return WithDb([&](Db& db) -> Status {
      auto st = db.Prepare("DELETE FROM image_members WHERE image_id = ? AND member = ?");
      if (!st.ok()) return st.status();
      st->Bind(1, image_id);
      st->Bind(2, member);
      GLINT_RETURN_IF_ERROR(st->Run());
      if (db.Changes() == 0) return Status::NotFound("Member " + member + " not found for image " + image_id);
      return Status::Ok();
    });
  }

  Result<ProjectUsage> Usage(const std::string& project_id) override {
    ProjectUsage u;
    Status s = WithDb([&](Db& db) -> Status {
      auto st = db.Prepare(
          "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'saving' THEN 1 ELSE 0 END), 0), "
          "COALESCE(SUM(size), 0) FROM images WHERE owner = ? AND deleted = 0");
      if (!st.ok()) return st.status();
      st->Bind(1, project_id);
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (*row) {
        u.image_count_total = st->Int(0);
        u.image_count_uploading = st->Int(1);
        u.image_size_total = st->Int(2);
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return u;
  }

  Result<int64_t> Generation() override {
    int64_t value = 0;
    Status s = WithDb([&](Db& db) -> Status {
      auto st = db.Prepare("SELECT value FROM glint_generation WHERE id = 1");
      if (!st.ok()) return st.status();
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (*row) value = st->Int(0);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return value;
  }

  Result<std::vector<UploadLock>> RecoverUploads(const std::string& node_id,
                                                 int64_t now) override {
    std::vector<UploadLock> out;
    Status s = WithDb([&](Db& db) -> Status {
      Transaction tx(db);
      GLINT_RETURN_IF_ERROR(tx.status());
      auto sel = db.Prepare(
          "SELECT id, upload_token, upload_node, status FROM images WHERE deleted = 0 AND ("
          "(status = 'saving' AND (upload_node = ? OR upload_expires < ? OR upload_token IS NULL)) OR "
          "(status IN ('uploading', 'importing') AND upload_token IS NOT NULL AND "
          "(upload_node = ? OR upload_expires < ?)))");
      if (!sel.ok()) return sel.status();
      sel->Bind(1, node_id);
      sel->Bind(2, now);
      sel->Bind(3, node_id);
      sel->Bind(4, now);
      std::vector<std::string> statuses;
      for (;;) {
        auto row = sel->Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        out.push_back({sel->Text(0), sel->OptText(1).value_or(""), sel->OptText(2).value_or("")});
        statuses.push_back(sel->Text(3));
      }
      {
        auto purge = db.Prepare("DELETE FROM tasks WHERE expires_at < ?");  // Glance hides them too
        if (!purge.ok()) return purge.status();
        purge->Bind(1, now);
        GLINT_RETURN_IF_ERROR(purge->Run());
      }
      {
        // Copies (task locks) of a restarted node, or whose lock expired, failed.
        auto t = db.Prepare(
            "UPDATE tasks SET status = 'failure', message = 'the task was interrupted (node restarted or lost); "
            "run it again', lock_token = NULL, updated_at = ?, expires_at = ? WHERE status IN "
            "('pending', 'processing') AND lock_token IS NOT NULL AND (lock_node = ? OR lock_expires < ?)");
        if (!t.ok()) return t.status();
        t->Bind(1, now);
        t->Bind(2, now + int64_t{48} * 3600 * 1000000);
        t->Bind(3, node_id);
        t->Bind(4, now);
        GLINT_RETURN_IF_ERROR(t->Run());
      }
      for (size_t i = 0; i < out.size(); ++i) {
        const auto& l = out[i];
        // An interrupted import keeps its staged data: back to uploading, to be imported
        // again; an interrupted upload or stage has nothing: back to queued.
        bool import = statuses[i] == kImporting;
        auto up = db.Prepare(
            std::string("UPDATE images SET status = ?, ") + (import ? "" : "size = NULL, ") +
            "upload_token = NULL, upload_node = NULL, upload_expires = NULL, updated_at = ?, "
            "version = version + 1 WHERE id = ? AND status = ?");
        if (!up.ok()) return up.status();
        up->Bind(1, import ? kUploading : kQueued);
        up->Bind(2, now);
        up->Bind(3, l.image_id);
        up->Bind(4, statuses[i]);
        GLINT_RETURN_IF_ERROR(up->Run());
        if (import) {
          auto t = db.Prepare(
              "UPDATE tasks SET status = 'failure', message = 'the import was interrupted (node restarted "
              "or lost); import the image again', updated_at = ?, expires_at = ? "
              "WHERE image_id = ? AND status IN ('pending', 'processing')");
          if (!t.ok()) return t.status();
          t->Bind(1, now);
          t->Bind(2, now + int64_t{48} * 3600 * 1000000);
          t->Bind(3, l.image_id);
          GLINT_RETURN_IF_ERROR(t->Run());
        }
      }
      return tx.Commit();
    });
    if (!s.ok()) return s;
    return out;
  }

  Result<std::vector<UploadLock>> LiveUploads() override {
    std::vector<UploadLock> out;
    Status s = WithDb([&](Db& db) -> Status {
      auto sel = db.Prepare(
          "SELECT id, upload_token, upload_node FROM images WHERE status IN ('saving', 'uploading', 'importing') "
          "AND upload_token IS NOT NULL UNION ALL SELECT image_id, lock_token, lock_node FROM tasks "
          "WHERE status IN ('pending', 'processing') AND lock_token IS NOT NULL");
      if (!sel.ok()) return sel.status();
      for (;;) {
        auto row = sel->Step();
        if (!row.ok()) return row.status();
        if (!*row) return Status::Ok();
        out.push_back({sel->Text(0), sel->Text(1), sel->Text(2)});
      }
    });
    if (!s.ok()) return s;
    return out;
  }

  Result<std::vector<ImageRecord>> PendingDeletes() override {
    std::vector<ImageRecord> out;
    Status s = WithDb([&](Db& db) -> Status {
      auto sel = db.Prepare(
          std::string("SELECT ") + kImageColumns +
          " FROM images WHERE id IN (SELECT image_id FROM image_locations "
          "WHERE status = 'pending_delete')");
      if (!sel.ok()) return sel.status();
      for (;;) {
        auto row = sel->Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        out.push_back(ReadImage(*sel));
      }
      return LoadChildren(db, out, /*include_pending_delete=*/true);
    });
    if (!s.ok()) return s;
    return out;
  }

 private:
  template <typename Fn>
  Status WithDb(Fn&& fn) {
    auto db = Acquire();
    if (!db.ok()) return db.status();
    Status s = fn(**db);
    Release(std::move(db).value());
    return s;
  }

  Result<std::unique_ptr<Db>> Acquire() {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!idle_.empty()) {
        auto db = std::move(idle_.back());
        idle_.pop_back();
        return db;
      }
    }
    return Db::Open(path_);
  }

  void Release(std::unique_ptr<Db> db) {
    std::lock_guard<std::mutex> l(mu_);
    if (idle_.size() < 32) idle_.push_back(std::move(db));
  }

  Status Migrate(Db& db) {
    GLINT_RETURN_IF_ERROR(db.Exec("CREATE TABLE IF NOT EXISTS glint_schema (version INTEGER NOT NULL)"));
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    int64_t version = 0;
    {
      auto st = db.Prepare("SELECT MAX(version) FROM glint_schema");
      if (!st.ok()) return st.status();
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (*row && !st->IsNull(0)) version = st->Int(0);
    }
    if (version > static_cast<int64_t>(kMigrations.size())) {
      return Status::Internal("catalog schema version " + std::to_string(version) +
                              " is newer than this Glint understands");
    }
    for (size_t v = static_cast<size_t>(version); v < kMigrations.size(); ++v) {
      for (const auto& sql : kMigrations[v]) GLINT_RETURN_IF_ERROR(db.Exec(sql));
      auto st = db.Prepare("INSERT INTO glint_schema (version) VALUES (?)");
      if (!st.ok()) return st.status();
      st->Bind(1, static_cast<int64_t>(v + 1));
      GLINT_RETURN_IF_ERROR(st->Run());
    }
    return tx.Commit();
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

  // Fills properties, tags and locations of `images` with one query per child table.
  Status LoadChildren(Db& db, std::vector<ImageRecord>& images,
                      bool include_pending_delete = false) {
    if (images.empty()) return Status::Ok();
    std::unordered_map<std::string, ImageRecord*> by_id;
    std::string in = "(";
    for (size_t i = 0; i < images.size(); ++i) {
      by_id[images[i].id] = &images[i];
      in += i ? ",?" : "?";
    }
    in += ")";
    auto run = [&](const std::string& sql, auto&& on_row) -> Status {
      auto st = db.Prepare(sql);
      if (!st.ok()) return st.status();
      for (size_t i = 0; i < images.size(); ++i) st->Bind(static_cast<int>(i + 1), images[i].id);
      for (;;) {
        auto row = st->Step();
        if (!row.ok()) return row.status();
        if (!*row) return Status::Ok();
        on_row(*st, by_id[st->Text(0)]);
      }
    };
    GLINT_RETURN_IF_ERROR(run("SELECT image_id, name, value FROM image_properties WHERE image_id IN " + in,
                              [](const Stmt& s, ImageRecord* r) { r->properties[s.Text(1)] = s.Text(2); }));
    GLINT_RETURN_IF_ERROR(run("SELECT image_id, value FROM image_tags WHERE image_id IN " + in +
                                  " ORDER BY image_id, value",
                              [](const Stmt& s, ImageRecord* r) { r->tags.push_back(s.Text(1)); }));
    std::string loc_sql = "SELECT image_id, url, metadata, store FROM image_locations WHERE image_id IN " +
                          in + (include_pending_delete ? "" : " AND status = 'active'") +
                          " ORDER BY image_id, position";
    return run(loc_sql, [](const Stmt& s, ImageRecord* r) {
      r->locations.push_back({s.Text(1), s.Text(2), s.Text(3)});
    });
  }

  Status List(Db& db, const ListQuery& q, std::vector<ImageRecord>* out) {
    std::string where = "deleted = 0";
    std::vector<SqlValue> args;
    const Viewer& v = q.viewer;
    // Which images the viewer may see at all (Glance's _select_images_query).
    if (!v.is_admin) {
      where += " AND (visibility IN ('public', 'community')";
      if (v.project_id) {
        where += " OR owner = ? OR (visibility = 'shared' AND id IN (SELECT image_id FROM "
                 "image_members WHERE member = ?";
        args.emplace_back(*v.project_id);
        args.emplace_back(*v.project_id);
        if (q.member_status != "all") {
          where += " AND status = ?";
          args.emplace_back(q.member_status);
        }
        where += "))";
      }
      where += ")";
    }
    if (q.visibility) {
      if (*q.visibility != "all") {
        where += " AND visibility = ?";
        args.emplace_back(*q.visibility);
      }
    } else if (!v.project_id) {
      where += " AND visibility <> 'community'";
    } else {
      where += " AND (visibility <> 'community' OR owner = ?)";
      args.emplace_back(*v.project_id);
    }
    where += " AND os_hidden = ?";
    args.emplace_back(int64_t{q.os_hidden ? 1 : 0});
    if (q.size_min) {
      where += " AND size >= ?";
      args.emplace_back(*q.size_min);
    }
    if (q.size_max) {
      where += " AND size <= ?";
      args.emplace_back(*q.size_max);
    }
    for (const auto& f : q.filters) {
      if (!kFilterColumns.count(f.field)) {
        return Status::InvalidArgument("cannot filter on " + f.field);
      }
      bool is_int = kIntColumns.count(f.field) > 0;
      auto value = [&](const std::string& s) -> Result<SqlValue> {
        if (!is_int) return SqlValue(s);
        if (f.field == "created_at" || f.field == "updated_at") {
          auto t = ParseIso(s);
          if (!t) return Status::InvalidArgument("Invalid time format: " + s);
          return SqlValue(*t);
        }
        try {
          size_t pos = 0;
          int64_t n = std::stoll(s, &pos);
          if (pos != s.size()) throw std::invalid_argument(s);
          return SqlValue(n);
        } catch (const std::exception&) {
          return Status::InvalidArgument("Invalid value for " + f.field + ": " + s);
        }
      };
      if (f.op == Filter::Op::kIn) {
        where += " AND " + f.field + " IN (";
        for (size_t i = 0; i < f.values.size(); ++i) {
          auto val = value(f.values[i]);
          if (!val.ok()) return val.status();
          where += i ? ",?" : "?";
          args.push_back(*val);
        }
        where += ")";
        continue;
      }
      static const std::map<Filter::Op, const char*> kOps = {
          {Filter::Op::kEq, "="}, {Filter::Op::kNeq, "<>"}, {Filter::Op::kGt, ">"},
          {Filter::Op::kGte, ">="}, {Filter::Op::kLt, "<"}, {Filter::Op::kLte, "<="}};
      if (f.values.empty()) return Status::InvalidArgument("empty filter on " + f.field);
      auto val = value(f.values[0]);
      if (!val.ok()) return val.status();
      where += " AND " + f.field + " " + kOps.at(f.op) + " ?";
      args.push_back(*val);
    }
    for (const auto& t : q.tags) {
      where += " AND id IN (SELECT image_id FROM image_tags WHERE value = ?)";
      args.emplace_back(t);
    }
    for (const auto& [k, val] : q.properties) {
      where += " AND id IN (SELECT image_id FROM image_properties WHERE name = ? AND value = ?)";
      args.emplace_back(k);
      args.emplace_back(val);
    }

    // Sort keys, always ending with created_at and id so the order is total.
    std::vector<SortKey> sort = q.sort;
    bool default_asc = sort.empty() ? false : sort.front().ascending;
    if (sort.empty()) sort.push_back({"created_at", false});
    for (const char* k : {"created_at", "id"}) {
      if (std::none_of(sort.begin(), sort.end(), [&](const SortKey& s) { return s.key == k; })) {
        sort.push_back({k, default_asc});
      }
    }
    for (const auto& s : sort) {
      if (!kFilterColumns.count(s.key)) return Status::InvalidArgument("Invalid sort key: " + s.key);
    }

    if (q.marker) {
      // Keyset pagination: rows strictly after the marker row in the sort order.
      // SQLite orders NULL before any value.
      auto st = db.Prepare("SELECT " + std::string(kImageColumns) +
                           " FROM images WHERE id = ? AND deleted = 0");
      if (!st.ok()) return st.status();
      st->Bind(1, *q.marker);
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::InvalidArgument("Invalid marker. Image could not be found.");
      ImageRecord m = ReadImage(*st);
      auto marker_value = [&](const std::string& key) -> SqlValue {
        if (key == "id") return m.id;
        if (key == "name") return m.name ? SqlValue(*m.name) : SqlValue();
        if (key == "status") return m.status;
        if (key == "visibility") return m.visibility;
        if (key == "owner") return m.owner ? SqlValue(*m.owner) : SqlValue();
        if (key == "disk_format") return m.disk_format ? SqlValue(*m.disk_format) : SqlValue();
        if (key == "container_format")
          return m.container_format ? SqlValue(*m.container_format) : SqlValue();
        if (key == "size") return m.size ? SqlValue(*m.size) : SqlValue();
        if (key == "virtual_size") return m.virtual_size ? SqlValue(*m.virtual_size) : SqlValue();
        if (key == "checksum") return m.checksum ? SqlValue(*m.checksum) : SqlValue();
        if (key == "os_hash_value") return m.os_hash_value ? SqlValue(*m.os_hash_value) : SqlValue();
        if (key == "min_disk") return m.min_disk;
        if (key == "min_ram") return m.min_ram;
        if (key == "protected") return int64_t{m.is_protected};
        if (key == "created_at") return m.created_at;
        if (key == "updated_at") return m.updated_at;
        return SqlValue();
      };
      std::string keyset = "(";
      for (size_t i = 0; i < sort.size(); ++i) {
        if (i) keyset += " OR ";
        keyset += "(";
        for (size_t j = 0; j < i; ++j) {
          SqlValue mv = marker_value(sort[j].key);
          if (std::holds_alternative<std::monostate>(mv)) {
            keyset += sort[j].key + " IS NULL AND ";
          } else {
            keyset += sort[j].key + " = ? AND ";
            args.push_back(mv);
          }
        }
        SqlValue mv = marker_value(sort[i].key);
        const std::string& k = sort[i].key;
        if (std::holds_alternative<std::monostate>(mv)) {
          // After NULL ascending: any non-null; descending: nothing is below NULL.
          keyset += sort[i].ascending ? k + " IS NOT NULL" : "1 = 0";
        } else if (sort[i].ascending) {
          keyset += k + " > ?";
          args.push_back(mv);
        } else {
          keyset += "(" + k + " < ? OR " + k + " IS NULL)";
          args.push_back(mv);
        }
        keyset += ")";
      }
      keyset += ")";
      where += " AND " + keyset;
    }

    std::string sql = std::string("SELECT ") + kImageColumns + " FROM images WHERE " + where +
                      " ORDER BY ";
    for (size_t i = 0; i < sort.size(); ++i) {
      if (i) sql += ", ";
      sql += sort[i].key + (sort[i].ascending ? " ASC" : " DESC");
    }
    sql += " LIMIT ?";
    args.emplace_back(int64_t{q.limit});

    auto st = db.Prepare(sql);
    if (!st.ok()) return st.status();
    for (size_t i = 0; i < args.size(); ++i) st->Bind(static_cast<int>(i + 1), args[i]);
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out->push_back(ReadImage(*st));
    }
    return LoadChildren(db, *out);
  }

  std::string path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Db>> idle_;
};

}  // namespace

std::unique_ptr<Catalog> OpenCatalog(const std::string& connection, Status* status) {
  const std::string prefix = "sqlite:///";
  if (connection.rfind(prefix, 0) != 0) {
    *status = Status::InvalidArgument("unsupported [database] connection '" + connection +
                                      "': Glint's embedded catalog takes sqlite:////abs/path.db");
    return nullptr;
  }
  std::string path = connection.substr(prefix.size());
  if (path.empty()) {
    *status = Status::InvalidArgument("empty sqlite path in [database] connection");
    return nullptr;
  }
  auto catalog = std::make_unique<SqliteCatalog>(path);
  *status = catalog->Init();
  if (!status->ok()) return nullptr;
  return catalog;
}

}  // namespace glint::catalog
