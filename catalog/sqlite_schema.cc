// The catalog's schema: DDL and the versioned migrations recorded in glint_schema.
#include "catalog/sqlite_schema.h"

#include <cstdint>
#include <string>
#include <vector>

namespace glint::catalog {
namespace {

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

}  // namespace

Status MigrateSchema(sql::Db& db) {
  GLINT_RETURN_IF_ERROR(db.Exec("CREATE TABLE IF NOT EXISTS glint_schema (version INTEGER NOT NULL)"));
  sql::Transaction tx(db);
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
    for (const auto& ddl : kMigrations[v]) GLINT_RETURN_IF_ERROR(db.Exec(ddl));
    auto st = db.Prepare("INSERT INTO glint_schema (version) VALUES (?)");
    if (!st.ok()) return st.status();
    st->Bind(1, static_cast<int64_t>(v + 1));
    GLINT_RETURN_IF_ERROR(st->Run());
  }
  return tx.Commit();
}

}  // namespace glint::catalog
