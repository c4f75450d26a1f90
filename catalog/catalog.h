// Catalog: the image metadata store behind the API.
//
// All state that several API nodes must agree on lives here: image rows, tags,
// properties, locations, upload locks. The interface is backend-neutral so a
// PostgreSQL/MySQL implementation can sit beside the embedded SQLite one; callers never
// see SQL. Methods block (they run on worker threads, never on network threads) and are
// safe to call concurrently from many threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "catalog/boot_report.h"
#include "catalog/image_record.h"
#include "catalog/metadef_record.h"
#include "common/chunk_manifest.h"
#include "common/status.h"

namespace glint::catalog {

// Who is asking; decides which images a listing may include.
struct Viewer {
  std::optional<std::string> project_id;
  bool is_admin = false;
};

struct Filter {
  enum class Op { kEq, kNeq, kGt, kGte, kLt, kLte, kIn };
  std::string field;  // a column name from the catalog's whitelist
  Op op = Op::kEq;
  std::vector<std::string> values;  // one value, or several for kIn
};

struct SortKey {
  std::string key;  // name, status, container_format, disk_format, size, id, created_at, ...
  bool ascending = false;
};

// What a project consumes, for quotas (Glance's unified-limits resources).
struct ProjectUsage {
  int64_t image_count_total = 0;      // non-deleted images owned
  int64_t image_count_uploading = 0;  // images receiving data
  int64_t image_size_total = 0;       // bytes of non-deleted images' data
  int64_t image_stage_total = 0;      // bytes staged: images uploading or importing
};

struct ListQuery {
  Viewer viewer;
  std::vector<Filter> filters;                     // on base columns
  std::vector<std::string> tags;                   // image must carry all of them
  std::vector<std::pair<std::string, std::string>> properties;  // custom property equality
  std::optional<std::string> visibility;           // exact visibility, or "all"
  std::string member_status = "accepted";          // shared images listed: pending/accepted/rejected/all
  std::optional<int64_t> size_min, size_max;
  bool os_hidden = false;                          // true: only hidden images
  std::vector<SortKey> sort;                       // tie-broken by created_at, id
  int limit = 25;
  std::optional<std::string> marker;               // id of the last image of the previous page
};

class Catalog {
 public:
  virtual ~Catalog() = default;

  // Inserts a new image. Conflict when the id exists, even as a deleted image.
  virtual Status CreateImage(const ImageRecord& image) = 0;
  // NotFound for unknown and deleted ids.
  virtual Result<ImageRecord> GetImage(const std::string& id) = 0;
  // InvalidArgument for an unknown marker or sort key.
  virtual Result<std::vector<ImageRecord>> ListImages(const ListQuery& query) = 0;
  // Replaces name/formats/visibility/properties/tags/... (not status, data fields or
  // locations). Conflict when `image.version` is stale; the caller re-reads and retries.
  virtual Status UpdateImage(const ImageRecord& image) = 0;
  // Moves status `from` -> `to` (deactivate/reactivate). Conflict when not in `from`.
  virtual Status TransitionStatus(const std::string& id, const std::string& from,
                                  const std::string& to) = 0;
  // Soft-deletes: status deleted, id stays reserved. Returns the record as it was (with
  // its locations) so the caller can delete the data. Locations are kept as
  // "pending delete" until ForgetLocations, so a crash in between is swept at restart.
  virtual Result<ImageRecord> DeleteImage(const std::string& id) = 0;
  virtual Status ForgetLocations(const std::string& id) = 0;
  // True when a location of a live (not deleted) image other than `except_image_id` has
  // this URL: that data must not be deleted.
  virtual Result<bool> LocationReferenced(const std::string& url, const std::string& except_image_id) = 0;
  // Removes one location of a live image (delete from one store of several).
  virtual Status RemoveLocation(const std::string& id, const std::string& url) = 0;
  // Adds a location (the locations API). With `activate`, a queued image becomes active
  // with the data facts given (size, checksum, os_hash_*). Conflict if the image is not
  // queued or active.
  virtual Status AddLocation(const std::string& id, const ImageLocation& location,
                             const std::optional<ImageRecord>& activate) = 0;
  // Replaces all locations of an active image.
  virtual Status ReplaceLocations(const std::string& id, const std::vector<ImageLocation>& locations) = 0;

  // Adoption of another catalog's image exactly as it was (timestamps, data facts,
  // locations, members); `deleted` imports a reserved, deleted id. Conflict if it exists.
  virtual Status ImportImage(const ImageRecord& image, bool deleted,
                             const std::vector<ImageMember>& members) = 0;

  // Members of shared images. AddMember: Conflict if already a member.
  virtual Status AddMember(const ImageMember& member) = 0;
  virtual Result<ImageMember> GetMember(const std::string& image_id, const std::string& member) = 0;
  virtual Result<std::vector<ImageMember>> ListMembers(const std::string& image_id) = 0;
  virtual Status UpdateMemberStatus(const std::string& image_id, const std::string& member,
                                    const std::string& status) = 0;
  virtual Status DeleteMember(const std::string& image_id, const std::string& member) = 0;

  virtual Result<ProjectUsage> Usage(const std::string& project_id) = 0;

  // A number that changes whenever any image, tag, property or membership changes
  // (every update bumps an image's version). Used as the validator of listings.
  virtual Result<int64_t> Generation() = 0;

  // queued -> saving under a fresh lock that expires at `expires_at` unless renewed.
  // Conflict if the image is not queued (another upload holds it, or it has data).
  virtual Status BeginUpload(const UploadLock& lock, int64_t expires_at) = 0;
  virtual Status RenewUpload(const UploadLock& lock, int64_t expires_at) = 0;
  // saving -> active with the data's facts and location, only while the lock is held,
  // and the data's chunk manifest (when given) in the same transaction.
  // Conflict if the lock was lost (image deleted or lock expired and recovered).
  virtual Status CompleteUpload(const UploadLock& lock, const ImageRecord& data_facts,
                                const ImageLocation& location, const ChunkManifest* manifest) = 0;
  // saving, uploading or importing -> queued, if the lock is still held.
  virtual Status AbortUpload(const UploadLock& lock) = 0;

  // Interoperable import (glance-direct). Stage: queued -> uploading under a lock, which
  // FinishStage releases (the image stays `uploading`, with its size). Import: uploading
  // -> importing under a lock; CompleteUpload then makes it active, AbortUpload queued,
  // and ReleaseImport puts it back to `uploading` (the staged data can be imported again).
  virtual Status BeginStage(const UploadLock& lock, int64_t expires_at) = 0;
  virtual Status FinishStage(const UploadLock& lock, int64_t size) = 0;
  virtual Status BeginImport(const UploadLock& lock, int64_t expires_at) = 0;
  virtual Status ReleaseImport(const UploadLock& lock) = 0;
  // web-download: queued -> importing under a lock, with nothing staged (no size). It ends
  // by CompleteUpload (active) or AbortUpload (queued); recovery puts it back to queued.
  virtual Status BeginWebDownload(const UploadLock& lock, int64_t expires_at) = 0;
  // Conflict ("Image has active task") when the task holds a lock and another task on the
  // image is unfinished.
  virtual Status CreateTask(const TaskRecord& task) = 0;
  virtual Status RenewTask(const std::string& id, const std::string& token, int64_t expires_at) = 0;
  virtual Status UpdateTask(const std::string& id, const std::string& status,
                            const std::optional<std::string>& result_json, const std::string& message) = 0;
  virtual Result<std::vector<TaskRecord>> ListTasks(const std::string& image_id) = 0;
  // Unexpired tasks of every image (GET /v2/tasks), filtered, sorted and paged.
  virtual Result<std::vector<TaskRecord>> QueryTasks(const TaskQuery& query) = 0;
  // One unexpired task; NotFound otherwise.
  virtual Result<TaskRecord> GetTask(const std::string& id) = 0;

  // Chunk manifests (common/chunk_manifest.h). GetManifest: NotFound when the image has
  // none (yet). AddManifest (backfill of images that predate manifests): NotFound unless
  // the image is active or deactivated, Conflict when its size or os_hash differs from the
  // manifest's or it already has one (manifests are immutable).
  virtual Result<ChunkManifest> GetManifest(const std::string& image_id) = 0;
  virtual Status AddManifest(const ChunkManifest& manifest) = 0;
  // Up to `limit` active or deactivated images with data facts but no manifest, oldest first.
  virtual Result<std::vector<ImageRecord>> ImagesWithoutManifest(int limit) = 0;

  // Learned boot sets (boot_reports.cc). PutBootReport replaces the (image, reporter,
  // host) row; TooManyRequests (retry_after: the seconds left) when that row is younger
  // than limits.min_interval; then
  // drops the reporter's oldest rows beyond max_hosts_per_reporter and the image's oldest
  // beyond max_reports_per_image. The caller checked the image and the chunk indexes.
  // Reports are deleted with the image.
  virtual Status PutBootReport(const BootReport& report, const BootReportLimits& limits) = 0;
  virtual Result<std::vector<BootReport>> ListBootReports(const std::string& image_id) = 0;

  // Startup/periodic recovery: every upload held by `node_id` (it restarted) or whose
  // lock expired before `now` goes back to queued (a stage too; an interrupted import goes
  // back to uploading and its task fails). Returns the locks released.
  virtual Result<std::vector<UploadLock>> RecoverUploads(const std::string& node_id,
                                                         int64_t now) = 0;
  // Upload tokens currently held (any node): the store keeps their partial objects.
  virtual Result<std::vector<UploadLock>> LiveUploads() = 0;
  // Deleted images whose data was not yet removed (crash between delete and cleanup).
  virtual Result<std::vector<ImageRecord>> PendingDeletes() = 0;
  // Which catalog state owns a store object name (an image id): for the startup sweep.
  // Returns the image (any status, deleted included) or NotFound.
  virtual Result<ImageRecord> GetImageAnyStatus(const std::string& id) = 0;

  // Metadata definitions (metadefs.cc, metadef_items.cc). The catalog keeps records and
  // their uniqueness; visibility and protection are the API's rules. Namespace create:
  // Conflict when the name exists or `contents` repeat a name.
  virtual Status CreateMetadefNamespace(const MetadefNamespace& ns,
                                        const std::vector<MetadefItem>& contents) = 0;
  virtual Result<MetadefNamespace> GetMetadefNamespace(const std::string& name) = 0;
  // Every namespace, by name; the caller filters by visibility.
  virtual Result<std::vector<MetadefNamespace>> ListMetadefNamespaces() = 0;
  // Replaces the fields of namespace `name`, renaming it (with everything it contains)
  // when ns.name differs. Conflict when the new name is taken.
  virtual Status UpdateMetadefNamespace(const std::string& name, const MetadefNamespace& ns) = 0;
  // Deletes the namespace with its objects, properties, tags and associations.
  virtual Status DeleteMetadefNamespace(const std::string& name) = 0;
  // Items: NotFound when the namespace does not exist, Conflict on a duplicate name.
  virtual Status CreateMetadefItem(const MetadefItem& item) = 0;
  virtual Result<MetadefItem> GetMetadefItem(MetadefKind kind, const std::string& ns,
                                             const std::string& name) = 0;
  virtual Result<std::vector<MetadefItem>> ListMetadefItems(MetadefKind kind,
                                                            const std::string& ns) = 0;
  // Replaces item `name` (renaming it to item.name). Conflict when the new name is taken.
  virtual Status UpdateMetadefItem(const std::string& name, const MetadefItem& item) = 0;
  virtual Status DeleteMetadefItem(MetadefKind kind, const std::string& ns,
                                   const std::string& name) = 0;
  // Atomically: without `append` drops every item of `kind` in `ns` first, then inserts
  // `items` (Conflict on a duplicate: nothing changes). Empty `items`: delete contents.
  virtual Status ReplaceMetadefItems(MetadefKind kind, const std::string& ns,
                                     const std::vector<MetadefItem>& items, bool append) = 0;
  virtual Result<std::vector<MetadefResourceType>> ListMetadefResourceTypes() = 0;
  // Adds a resource type unless one of that name exists.
  virtual Status EnsureMetadefResourceType(const MetadefResourceType& type) = 0;
  // Associates; creates the resource type if unknown. Conflict when associated already.
  virtual Status CreateMetadefAssociation(const MetadefAssociation& assoc) = 0;
  // Associations of one namespace, or of all with nullopt.
  virtual Result<std::vector<MetadefAssociation>> ListMetadefAssociations(
      const std::optional<std::string>& ns) = 0;
  virtual Status DeleteMetadefAssociation(const std::string& ns, const std::string& type) = 0;
};

// Opens the catalog named by a Glance-style connection URL. Supported:
//   sqlite:////absolute/path.db   (creates the file, WAL mode, brings the schema up to date)
//   mysql+pymysql://USER:PASS@HOST[:PORT]/DB[?charset=utf8], mysql://..., mariadb://...
//     (MariaDB or MySQL; the schema must be current: `glint-manage db-sync` makes it so)
// Either way a schema newer than this Glint knows is refused.
std::unique_ptr<Catalog> OpenCatalog(const std::string& connection, Status* status);

// `glint-manage db-sync` and `db-version`: the catalog schema's version in the database
// (0: none yet), and the version this Glint knows.
Result<int64_t> SyncCatalogSchema(const std::string& connection);
Result<int64_t> CatalogSchemaVersion(const std::string& connection);
int64_t LatestCatalogSchemaVersion();

}  // namespace glint::catalog
