// ImageRecord: one image's metadata as the catalog stores it.
//
// The record is plain data, copied freely between threads. Timestamps are microseconds
// since the epoch (UTC). Status follows Glance's v2 state machine:
//   queued -> saving -> active <-> deactivated, any -> deleted,
//   queued -> uploading (staged) -> importing -> active (interoperable import),
// and Glint never leaves an image in `killed` (a failed upload goes back to `queued`).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace glint::catalog {

inline constexpr const char* kQueued = "queued";
inline constexpr const char* kSaving = "saving";
inline constexpr const char* kUploading = "uploading";  // staged for import (glance-direct)
inline constexpr const char* kImporting = "importing";
inline constexpr const char* kActive = "active";
inline constexpr const char* kDeactivated = "deactivated";
inline constexpr const char* kDeleted = "deleted";

struct ImageLocation {
  std::string url;            // e.g. file:///var/lib/glint/images/<id>
  std::string metadata_json;  // Glance's location metadata, "{}" by default
  std::string store;          // backend id (multi-store), "" when single-store
};

struct ImageRecord {
  std::string id;
  std::optional<std::string> name;
  std::string status = kQueued;
  std::string visibility = "shared";
  std::optional<std::string> owner;
  std::optional<std::string> disk_format;
  std::optional<std::string> container_format;
  std::optional<int64_t> size;
  std::optional<int64_t> virtual_size;
  std::optional<std::string> checksum;  // md5 hex
  std::optional<std::string> os_hash_algo;
  std::optional<std::string> os_hash_value;
  int64_t min_disk = 0;
  int64_t min_ram = 0;
  bool is_protected = false;
  bool os_hidden = false;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::optional<int64_t> activated_at;  // when the image last became active
  std::map<std::string, std::string> properties;  // custom (extra) properties
  std::vector<std::string> tags;                   // unique, sorted
  std::vector<ImageLocation> locations;
  // Optimistic concurrency: bumped by every update; UpdateImage checks it.
  int64_t version = 0;
};

// A project an image is shared with (visibility `shared`), and its answer.
struct ImageMember {
  std::string image_id;
  std::string member;               // project id
  std::string status = "pending";   // pending, accepted, rejected
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// An upload that holds an image in `saving`. The lock lives in the catalog so that every
// API node sees it; it expires unless renewed, so a crashed node's uploads are recovered.
struct UploadLock {
  std::string image_id;
  std::string token;    // random per upload; also names the store's partial object
  std::string node_id;  // the API node running the upload
};

// An import task (Glance's `api_image_import`), kept in the catalog so that any node can
// report it. Times in microseconds; JSON fields are stored as text.
struct TaskRecord {
  std::string id;
  std::string image_id;
  std::string type = "api_image_import";
  std::string status = "pending";  // pending, processing, success, failure
  std::optional<std::string> owner, user_id, request_id;
  std::string input_json = "{}";
  std::optional<std::string> result_json;
  std::string message;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::optional<int64_t> expires_at;
  // A task that writes data itself (copy-image) holds a lock like an upload's: its token
  // names the store's partial object, and it expires unless renewed.
  std::optional<std::string> lock_token, lock_node;
  std::optional<int64_t> lock_expires;
};

// GET /v2/tasks: Glance's filters, sort and marker paging.
struct TaskQuery {
  std::optional<std::string> owner;  // nullopt: every project's (admin)
  std::optional<std::string> type, status;
  std::string sort_key = "created_at";  // id, type, status, created_at, updated_at
  bool ascending = false;
  std::optional<std::string> marker;    // the last task id of the previous page
  int limit = 25;
};

}  // namespace glint::catalog
