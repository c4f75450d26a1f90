// SqliteCatalog: the embedded catalog backend, SQLite in WAL mode behind the Catalog
// interface. Internal to catalog/: callers get it from OpenCatalog and see only Catalog.
// Its methods run on worker threads, concurrently; each call borrows a connection from
// the pool for its duration, so no connection is used by two threads at once.
//
// The implementation is split by responsibility: sqlite_schema.cc (DDL, migrations),
// sqlite_image_rows.cc (row mapping shared by the others), sqlite_images.cc,
// sqlite_locations.cc, sqlite_list.cc, sqlite_uploads.cc, sqlite_recovery.cc,
// sqlite_tasks.cc, sqlite_members.cc. SQL is kept to what PostgreSQL and MySQL also
// accept, except the PRAGMAs in sql/sqlite_db.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/sqlite_connection_pool.h"

namespace glint::catalog {

// How long finished and failed tasks stay listed (Glance's task_time_to_live default).
inline constexpr int64_t kFinishedTaskLifetimeMicros = int64_t{48} * 3600 * 1000000;

class SqliteCatalog final : public Catalog {
 public:
  explicit SqliteCatalog(std::string path) : pool_(std::move(path)) {}

  // Opens the first connection and brings the schema up to date.
  Status Init();

  // sqlite_images.cc
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

  // sqlite_locations.cc
  Status ForgetLocations(const std::string& id) override;
  Result<bool> LocationReferenced(const std::string& url, const std::string& except_image_id) override;
  Status RemoveLocation(const std::string& id, const std::string& url) override;
  Status AddLocation(const std::string& id, const ImageLocation& location,
                     const std::optional<ImageRecord>& activate) override;
  Status ReplaceLocations(const std::string& id,
                          const std::vector<ImageLocation>& locations) override;

  // sqlite_list.cc
  Result<std::vector<ImageRecord>> ListImages(const ListQuery& query) override;

  // sqlite_uploads.cc
  Status BeginUpload(const UploadLock& lock, int64_t expires_at) override;
  Status RenewUpload(const UploadLock& lock, int64_t expires_at) override;
  Status CompleteUpload(const UploadLock& lock, const ImageRecord& data_facts,
                        const ImageLocation& location) override;
  Status AbortUpload(const UploadLock& lock) override;
  Status BeginStage(const UploadLock& lock, int64_t expires_at) override;
  Status FinishStage(const UploadLock& lock, int64_t size) override;
  Status BeginImport(const UploadLock& lock, int64_t expires_at) override;
  Status ReleaseImport(const UploadLock& lock) override;
  Status BeginWebDownload(const UploadLock& lock, int64_t expires_at) override;

  // sqlite_recovery.cc
  Result<std::vector<UploadLock>> RecoverUploads(const std::string& node_id,
                                                 int64_t now) override;
  Result<std::vector<UploadLock>> LiveUploads() override;
  Result<std::vector<ImageRecord>> PendingDeletes() override;

  // sqlite_tasks.cc
  Status CreateTask(const TaskRecord& task) override;
  Status RenewTask(const std::string& id, const std::string& token, int64_t expires_at) override;
  Status UpdateTask(const std::string& id, const std::string& status,
                    const std::optional<std::string>& result_json,
                    const std::string& message) override;
  Result<std::vector<TaskRecord>> ListTasks(const std::string& image_id) override;

  // sqlite_members.cc
  Status AddMember(const ImageMember& member) override;
  Result<ImageMember> GetMember(const std::string& image_id, const std::string& member) override;
  Result<std::vector<ImageMember>> ListMembers(const std::string& image_id) override;
  Status UpdateMemberStatus(const std::string& image_id, const std::string& member,
                            const std::string& status) override;
  Status DeleteMember(const std::string& image_id, const std::string& member) override;

 private:
  // from -> to under a fresh lock; Glance's wording when the image is elsewhere.
  // `busy`: the message when the image is already in `to` (another holder got there).
  Status LockedTransition(const UploadLock& lock, int64_t expires_at, const char* from,
                          const char* to, bool must_be_unlocked, const std::string& busy = "");

  SqliteConnectionPool pool_;
};

}  // namespace glint::catalog
