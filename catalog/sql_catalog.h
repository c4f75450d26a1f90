// SqlCatalog: the Catalog interface over SQL, the same code on every engine (SQLite
// embedded in WAL mode, MariaDB/MySQL, Galera). Internal to catalog/: callers get it from
// OpenCatalog and see only Catalog. Its methods run on worker threads, concurrently; each
// call borrows a connection from the pool for its duration, so no connection is used by
// two threads at once, and the pool runs a call again after a deadlock or a Galera
// certification conflict (each call's closure starts from scratch).
//
// The implementation is split by responsibility: schema.cc (DDL, migrations),
// image_rows.cc (row mapping shared by the others), images.cc, locations.cc, list.cc,
// uploads.cc, recovery.cc, tasks.cc, members.cc, manifests.cc. The SQL is what SQLite, MariaDB/MySQL and
// PostgreSQL all accept; where engines differ it asks db.dialect() (sql/dialect.h).
// Concurrency is optimistic (version-checked UPDATEs), never LOCK TABLES, GET_LOCK or
// SELECT ... FOR UPDATE, which do not act across Galera nodes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "sql/connection_pool.h"

namespace glint::catalog {

// How long finished and failed tasks stay listed (Glance's task_time_to_live default).
inline constexpr int64_t kFinishedTaskLifetimeMicros = int64_t{48} * 3600 * 1000000;

class SqlCatalog final : public Catalog {
 public:
  SqlCatalog(sql::ConnectionSpec spec, size_t max_open) : pool_(std::move(spec), max_open) {}

  // Opens the first connection; brings the schema up to date (`migrate`) or requires it
  // to be current.
  Status Init(bool migrate);

  // images.cc
  Status CreateImage(const ImageRecord& image) override;
  Result<ImageRecord> GetImage(const std::string& id) override;
  Result<ImageRecord> GetImageAnyStatus(const std::string& id) override;
  Status UpdateImage(const ImageRecord& image) override;
  Status TransitionStatus(const std::string& id, const std::string& from,
                          const std::string& to) override;
  Result<ImageRecord> DeleteImage(const std::string& id) override;
  Status ImportImage(const ImageRecord& image, bool deleted,
                     const std::vector<ImageMember>& members) override;
  Result<ProjectUsage> Usage(const std::string& project_id) override;
  Result<int64_t> Generation() override;

  // locations.cc
  Status ForgetLocations(const std::string& id) override;
  Result<bool> LocationReferenced(const std::string& url, const std::string& except_image_id) override;
  Status RemoveLocation(const std::string& id, const std::string& url) override;
  Status AddLocation(const std::string& id, const ImageLocation& location,
                     const std::optional<ImageRecord>& activate) override;
  Status ReplaceLocations(const std::string& id,
                          const std::vector<ImageLocation>& locations) override;

  // list.cc
  Result<std::vector<ImageRecord>> ListImages(const ListQuery& query) override;

  // uploads.cc
  Status BeginUpload(const UploadLock& lock, int64_t expires_at) override;
  Status RenewUpload(const UploadLock& lock, int64_t expires_at) override;
  Status CompleteUpload(const UploadLock& lock, const ImageRecord& data_facts,
                        const ImageLocation& location, const ChunkManifest* manifest) override;
  Status AbortUpload(const UploadLock& lock) override;
  Status BeginStage(const UploadLock& lock, int64_t expires_at) override;
  Status FinishStage(const UploadLock& lock, int64_t size) override;
  Status BeginImport(const UploadLock& lock, int64_t expires_at) override;
  Status ReleaseImport(const UploadLock& lock) override;
  Status BeginWebDownload(const UploadLock& lock, int64_t expires_at) override;

  // manifests.cc
  Result<ChunkManifest> GetManifest(const std::string& image_id) override;
  Status AddManifest(const ChunkManifest& manifest) override;
  Result<std::vector<ImageRecord>> ImagesWithoutManifest(int limit) override;
  Status PutBootReport(const BootReport& report, const BootReportLimits& limits) override;
  Result<std::vector<BootReport>> ListBootReports(const std::string& image_id) override;

  // recovery.cc
  Result<std::vector<UploadLock>> RecoverUploads(const std::string& node_id,
                                                 int64_t now) override;
  Result<std::vector<UploadLock>> LiveUploads() override;
  Result<std::vector<ImageRecord>> PendingDeletes() override;

  // tasks.cc
  Status CreateTask(const TaskRecord& task) override;
  Status RenewTask(const std::string& id, const std::string& token, int64_t expires_at) override;
  Status UpdateTask(const std::string& id, const std::string& status,
                    const std::optional<std::string>& result_json,
                    const std::string& message) override;
  Result<std::vector<TaskRecord>> ListTasks(const std::string& image_id) override;
  Result<std::vector<TaskRecord>> QueryTasks(const TaskQuery& query) override;
  Result<TaskRecord> GetTask(const std::string& id) override;

  // members.cc
  Status AddMember(const ImageMember& member) override;
  Result<ImageMember> GetMember(const std::string& image_id, const std::string& member) override;
  Result<std::vector<ImageMember>> ListMembers(const std::string& image_id) override;
  Status UpdateMemberStatus(const std::string& image_id, const std::string& member,
                            const std::string& status) override;
  Status DeleteMember(const std::string& image_id, const std::string& member) override;

  // metadefs.cc: namespaces, resource types, associations
  Status CreateMetadefNamespace(const MetadefNamespace& ns,
                                const std::vector<MetadefItem>& contents) override;
  Result<MetadefNamespace> GetMetadefNamespace(const std::string& name) override;
  Result<std::vector<MetadefNamespace>> ListMetadefNamespaces() override;
  Status UpdateMetadefNamespace(const std::string& name, const MetadefNamespace& ns) override;
  Status DeleteMetadefNamespace(const std::string& name) override;
  Result<std::vector<MetadefResourceType>> ListMetadefResourceTypes() override;
  Status EnsureMetadefResourceType(const MetadefResourceType& type) override;
  Status CreateMetadefAssociation(const MetadefAssociation& assoc) override;
  Result<std::vector<MetadefAssociation>> ListMetadefAssociations(
      const std::optional<std::string>& ns) override;
  Status DeleteMetadefAssociation(const std::string& ns, const std::string& type) override;

  // metadef_items.cc: objects, properties, tags
  Status CreateMetadefItem(const MetadefItem& item) override;
  Result<MetadefItem> GetMetadefItem(MetadefKind kind, const std::string& ns,
                                     const std::string& name) override;
  Result<std::vector<MetadefItem>> ListMetadefItems(MetadefKind kind, const std::string& ns) override;
  Status UpdateMetadefItem(const std::string& name, const MetadefItem& item) override;
  Status DeleteMetadefItem(MetadefKind kind, const std::string& ns, const std::string& name) override;
  Status ReplaceMetadefItems(MetadefKind kind, const std::string& ns,
                             const std::vector<MetadefItem>& items, bool append) override;

 private:
  // from -> to under a fresh lock; Glance's wording when the image is elsewhere.
  // `busy`: the message when the image is already in `to` (another holder got there).
  Status LockedTransition(const UploadLock& lock, int64_t expires_at, const char* from,
                          const char* to, bool must_be_unlocked, const std::string& busy = "");

  sql::ConnectionPool pool_;
};

}  // namespace glint::catalog
