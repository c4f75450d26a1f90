// The catalog's schema: DDL and the versioned migrations recorded in glint_schema.
#include "catalog/schema.h"

#include <string>
#include <vector>

namespace glint::catalog {
namespace {

// Each step moves the schema from version index to index + 1. Tables get the dialect's
// options (InnoDB, utf8mb4, a byte-wise collation on MariaDB); every table has a primary
// key (Galera replicates only those).
std::vector<std::string> V1Tables(const sql::Dialect& d) {
  const std::string opts = d.TableOptions();
  return {
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
          upload_expires BIGINT))" + opts,
        "CREATE INDEX ix_images_created ON images (deleted, created_at, id)",
        "CREATE INDEX ix_images_name ON images (name)",
        "CREATE INDEX ix_images_owner ON images (owner)",
        "CREATE INDEX ix_images_upload ON images (upload_token)",
        R"(CREATE TABLE image_properties (
          image_id VARCHAR(36) NOT NULL REFERENCES images (id),
          name VARCHAR(255) NOT NULL,
          value TEXT NOT NULL,
          PRIMARY KEY (image_id, name)))" + opts,
        "CREATE INDEX ix_image_properties_name ON image_properties (name)",
        R"(CREATE TABLE image_tags (
          image_id VARCHAR(36) NOT NULL REFERENCES images (id),
          value VARCHAR(255) NOT NULL,
          PRIMARY KEY (image_id, value)))" + opts,
        "CREATE INDEX ix_image_tags_value ON image_tags (value)",
        R"(CREATE TABLE image_locations (
          image_id VARCHAR(36) NOT NULL REFERENCES images (id),
          position INTEGER NOT NULL,
          url TEXT NOT NULL,
          metadata TEXT NOT NULL,
          store VARCHAR(255) NOT NULL,
          status VARCHAR(30) NOT NULL,
          PRIMARY KEY (image_id, position)))" + opts,
        R"(CREATE TABLE image_members (
          image_id VARCHAR(36) NOT NULL REFERENCES images (id),
          member VARCHAR(255) NOT NULL,
          status VARCHAR(20) NOT NULL,
          created_at BIGINT NOT NULL,
          updated_at BIGINT NOT NULL,
          PRIMARY KEY (image_id, member)))" + opts,
        "CREATE INDEX ix_image_members_member ON image_members (member, status)",
  };
}

// A counter bumped by every change to what listings show, so clients can poll cheaply
// (ETag / If-None-Match on GET /v2/images). Kept by triggers so that no code path can
// forget it.
std::vector<std::string> V2Generation(const sql::Dialect& d) {
  const std::string bump = "UPDATE glint_generation SET value = value + 1 WHERE id = 1";
  return {
      "CREATE TABLE glint_generation (id INTEGER NOT NULL PRIMARY KEY, value BIGINT NOT NULL)" +
          d.TableOptions(),
      "INSERT INTO glint_generation (id, value) VALUES (1, 1)",
      d.AfterTrigger("tg_images_insert", "images", "INSERT", "", bump),
      d.AfterTrigger("tg_images_update", "images", "UPDATE", "NEW.version <> OLD.version", bump),
      d.AfterTrigger("tg_members_insert", "image_members", "INSERT", "", bump),
      d.AfterTrigger("tg_members_update", "image_members", "UPDATE", "", bump),
      d.AfterTrigger("tg_members_delete", "image_members", "DELETE", "", bump),
  };
}

// Import tasks (Glance's `tasks` for api_image_import); any node can report them.
std::vector<std::string> V3Tasks(const sql::Dialect& d) {
  return {
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
          lock_expires BIGINT))" + d.TableOptions(),
        "CREATE INDEX ix_tasks_image ON tasks (image_id, created_at)",
  };
}

// MySQL/MariaDB name the table an index is dropped from; SQLite does not.
std::string DropIndex(const sql::Dialect& d, const std::string& index, const std::string& table) {
  return "DROP INDEX " + index + (d.Name() == "mysql" ? " ON " + table : "");
}

// Indexes for listing at scale (bench/list_scale.py, 100,000 images): a property filter
// finds its images by (name, value) without reading the table, and sorting by name walks
// an index in the page's order instead of sorting every image. They replace the
// single-column indexes they extend. MySQL/MariaDB index TEXT only by a prefix.
std::vector<std::string> V4ListIndexes(const sql::Dialect& d) {
  const bool mysql = d.Name() == "mysql";
  return {
      std::string("CREATE INDEX ix_image_properties_name_value ON image_properties (name, ") +
          (mysql ? "value(255)" : "value") + ", image_id)",
      DropIndex(d, "ix_image_properties_name", "image_properties"),
      "CREATE INDEX ix_images_name_order ON images (deleted, name, created_at, id)",
      DropIndex(d, "ix_images_name", "images"),
  };
}

// Chunk manifests (common/chunk_manifest.h): the header, bound to the image's facts, and
// one row per chunk digest. Written with the image's activation, never updated; removed
// when the image is deleted.
std::vector<std::string> V5Manifests(const sql::Dialect& d) {
  return {
        R"(CREATE TABLE image_manifests (
          image_id VARCHAR(36) NOT NULL PRIMARY KEY,
          size BIGINT NOT NULL,
          chunk_size BIGINT NOT NULL,
          algorithm VARCHAR(20) NOT NULL,
          os_hash_algo VARCHAR(64) NOT NULL,
          os_hash_value VARCHAR(128) NOT NULL,
          chunk_count BIGINT NOT NULL,
          binding VARCHAR(64) NOT NULL,
          created_at BIGINT NOT NULL))" + d.TableOptions(),
        R"(CREATE TABLE image_manifest_chunks (
          image_id VARCHAR(36) NOT NULL,
          position BIGINT NOT NULL,
          digest VARCHAR(64) NOT NULL,
          PRIMARY KEY (image_id, position)))" + d.TableOptions(),
  };
}

// The metadata definitions catalog (Glance's metadef_* tables), keyed by names: a
// namespace's name is unique, an item's name unique in its namespace. Deleting a
// namespace deletes what it holds (catalog/metadefs.cc, in one transaction).
std::vector<std::string> V6Metadefs(const sql::Dialect& d) {
  const std::string opts = d.TableOptions();
  auto items = [&](const std::string& table) {
    return "CREATE TABLE " + table + R"( (
          namespace VARCHAR(80) NOT NULL,
          name VARCHAR(255) NOT NULL,
          body )" + d.LargeText() + R"( NOT NULL,
          created_at BIGINT NOT NULL,
          updated_at BIGINT NOT NULL,
          PRIMARY KEY (namespace, name)))" + opts;
  };
  return {
      R"(CREATE TABLE metadef_namespaces (
          namespace VARCHAR(80) NOT NULL PRIMARY KEY,
          display_name VARCHAR(80),
          description TEXT,
          visibility VARCHAR(32) NOT NULL,
          protected SMALLINT NOT NULL DEFAULT 0,
          owner VARCHAR(255),
          created_at BIGINT NOT NULL,
          updated_at BIGINT NOT NULL))" + opts,
      "CREATE INDEX ix_metadef_namespaces_owner ON metadef_namespaces (owner)",
      items("metadef_objects"),
      items("metadef_properties"),
      items("metadef_tags"),
      R"(CREATE TABLE metadef_resource_types (
          name VARCHAR(80) NOT NULL PRIMARY KEY,
          protected SMALLINT NOT NULL DEFAULT 0,
          created_at BIGINT NOT NULL,
          updated_at BIGINT NOT NULL))" + opts,
      R"(CREATE TABLE metadef_namespace_resource_types (
          namespace VARCHAR(80) NOT NULL,
          resource_type VARCHAR(80) NOT NULL,
          properties_target VARCHAR(80),
          prefix VARCHAR(80),
          created_at BIGINT NOT NULL,
          updated_at BIGINT NOT NULL,
          PRIMARY KEY (namespace, resource_type)))" + opts,
      "CREATE INDEX ix_metadef_ns_rt_type ON metadef_namespace_resource_types (resource_type)",
  };
}

// Learned boot sets (catalog/boot_reports.cc): each host's last report of the chunks an
// image read while it booted, one row per (image, reporter, host), merged by the API.
// The primary key serves every query (by image, by image and reporter).
std::vector<std::string> V7BootReports(const sql::Dialect& d) {
  return {
      R"(CREATE TABLE image_boot_reports (
          image_id VARCHAR(36) NOT NULL,
          reporter VARCHAR(255) NOT NULL,
          host VARCHAR(64) NOT NULL,
          chunks )" + d.LargeText() + R"( NOT NULL,
          chunk_count INTEGER NOT NULL,
          reported_at BIGINT NOT NULL,
          PRIMARY KEY (image_id, reporter, host)))" + d.TableOptions(),
  };
}

// A tag filter's images read from its index alone: SQLite's index on value alone led to
// each tag row by rowid for its image_id, a second lookup per match when a page is driven
// by a tag (2,000 matches: 1.4 -> 0.7 ms to collect their ids). MariaDB's secondary
// indexes already held the primary key; the same index there keeps one schema.
std::vector<std::string> V8TagIndex(const sql::Dialect& d) {
  return {"CREATE INDEX ix_image_tags_value_image ON image_tags (value, image_id)",
          DropIndex(d, "ix_image_tags_value", "image_tags")};
}

// SQLite: the columns a viewer's scope is decided on, in the indexes a listing reads
// images through, so an image the viewer may not see is ruled out from the index entry
// and its table row is never read (SQLite defers the row until a column outside the
// index is needed). A walk of the sort order reads ix_images_created or
// ix_images_name_order; a page driven by a filter looks each match up by id, which went
// through the primary key's index and then the row. 100,000 images, a member's tag none
// of whose 2,000 matches it may see: the walk 4 -> 2 ms, the driven page 7 -> 4 ms.
// MariaDB keeps its indexes: its rows live in the primary key's index (a lookup by id is
// one read), and its nodes force ix_images_created and ix_images_name_order by name,
// which nodes still on the old version must find during a rolling upgrade.
std::vector<std::string> V9ScopeIndexes(const sql::Dialect& d) {
  if (d.Name() == "mysql") return {};
  return {"DROP INDEX ix_images_created",
          "CREATE INDEX ix_images_created ON images (deleted, created_at, id, visibility, owner, os_hidden)",
          "CREATE INDEX ix_images_id_scope ON images (id, deleted, visibility, owner, os_hidden, created_at)",
          "DROP INDEX ix_images_name_order",
          "CREATE INDEX ix_images_name_order ON images (deleted, name, created_at, id, visibility, owner, os_hidden)"};
}

}  // namespace

const sql::Schema& CatalogSchema() {
  static const sql::Schema schema{"catalog", "glint_schema", {V1Tables, V2Generation, V3Tasks, V4ListIndexes,
                                                      V5Manifests, V6Metadefs, V7BootReports, V8TagIndex,
                                                      V9ScopeIndexes}};
  return schema;
}

}  // namespace glint::catalog
