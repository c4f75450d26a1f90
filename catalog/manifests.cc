// Chunk manifests in the catalog: written in the transaction that makes an image active
// (CompleteUpload) or by the backfill (AddManifest) for images that predate them; never
// updated; removed with the image (DeleteImage).
#include <algorithm>
#include <string>

#include "catalog/image_rows.h"
#include "catalog/sql_catalog.h"
#include "common/ids.h"

namespace glint::catalog {

using sql::Db;
using sql::Transaction;

namespace {
constexpr size_t kChunkRowsPerInsert = 100;  // one round trip per 100 chunks (400 MiB)

Status InsertChunkRows(Db& db, const ChunkManifest& m) {
  for (size_t first = 0; first < m.chunks.size(); first += kChunkRowsPerInsert) {
    size_t n = std::min(kChunkRowsPerInsert, m.chunks.size() - first);
    std::string sql = "INSERT INTO image_manifest_chunks (image_id, position, digest) VALUES ";
    for (size_t i = 0; i < n; ++i) sql += i == 0 ? "(?, ?, ?)" : ", (?, ?, ?)";
    auto st = db.Prepare(sql);
    if (!st.ok()) return st.status();
    int b = 1;
    for (size_t i = first; i < first + n; ++i) {
      st->Bind(b++, m.image_id);
      st->Bind(b++, static_cast<int64_t>(i));
      st->Bind(b++, m.chunks[i]);
    }
    GLINT_RETURN_IF_ERROR(st->Run());
  }
  return Status::Ok();
}
}  // namespace

Status InsertManifest(Db& db, const ChunkManifest& m) {
  auto st = db.Prepare(
      "INSERT INTO image_manifests (image_id, size, chunk_size, algorithm, os_hash_algo, os_hash_value, "
      "chunk_count, binding, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st.ok()) return st.status();
  int i = 1;
  st->Bind(i++, m.image_id);
  st->Bind(i++, m.size);
  st->Bind(i++, m.chunk_size);
  st->Bind(i++, m.algorithm);
  st->Bind(i++, m.os_hash_algo);
  st->Bind(i++, m.os_hash_value);
  st->Bind(i++, static_cast<int64_t>(m.chunks.size()));
  st->Bind(i++, m.binding);
  st->Bind(i++, NowMicros());
  GLINT_RETURN_IF_ERROR(st->Run());
  return InsertChunkRows(db, m);
}

Status DeleteManifest(Db& db, const std::string& image_id) {
  for (const char* table : {"image_manifest_chunks", "image_manifests"}) {
    auto st = db.Prepare(std::string("DELETE FROM ") + table + " WHERE image_id = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, image_id);
    GLINT_RETURN_IF_ERROR(st->Run());
  }
  return Status::Ok();
}

Result<ChunkManifest> SqlCatalog::GetManifest(const std::string& image_id) {
  ChunkManifest m;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    m = ChunkManifest{};
    auto st = db.Prepare(
        "SELECT size, chunk_size, algorithm, os_hash_algo, os_hash_value, chunk_count, binding "
        "FROM image_manifests WHERE image_id = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, image_id);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("Image " + image_id + " has no chunk manifest");
    m.image_id = image_id;
    m.size = st->Int(0);
    m.chunk_size = st->Int(1);
    m.algorithm = st->Text(2);
    m.os_hash_algo = st->Text(3);
    m.os_hash_value = st->Text(4);
    int64_t count = st->Int(5);
    m.binding = st->Text(6);
    auto ch = db.Prepare("SELECT digest FROM image_manifest_chunks WHERE image_id = ? ORDER BY position");
    if (!ch.ok()) return ch.status();
    ch->Bind(1, image_id);
    for (;;) {
      auto r = ch->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      m.chunks.push_back(ch->Text(0));
    }
    if (static_cast<int64_t>(m.chunks.size()) != count) {
      return Status::Corruption("chunk manifest of " + image_id + " lists " + std::to_string(m.chunks.size()) +
                                " chunks of " + std::to_string(count));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return m;
}

Status SqlCatalog::AddManifest(const ChunkManifest& m) {
  return pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    auto st = db.Prepare(
        "SELECT size, os_hash_algo, os_hash_value FROM images WHERE id = ? AND deleted = 0 "
        "AND status IN ('active', 'deactivated')");
    if (!st.ok()) return st.status();
    st->Bind(1, m.image_id);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("No active image found with ID " + m.image_id);
    if (st->OptInt(0) != m.size || st->OptText(1) != m.os_hash_algo || st->OptText(2) != m.os_hash_value) {
      return Status::Conflict("The data read for image " + m.image_id + " does not match its size and hash");
    }
    auto have = db.Prepare("SELECT 1 FROM image_manifests WHERE image_id = ?");
    if (!have.ok()) return have.status();
    have->Bind(1, m.image_id);
    auto exists = have->Step();
    if (!exists.ok()) return exists.status();
    if (*exists) return Status::Conflict("Image " + m.image_id + " already has a chunk manifest");
    GLINT_RETURN_IF_ERROR(InsertManifest(db, m));
    return tx.Commit();
  });
}

Result<std::vector<ImageRecord>> SqlCatalog::ImagesWithoutManifest(int limit) {
  std::vector<ImageRecord> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    out.clear();
    auto st = db.Prepare(std::string("SELECT ") + kImageColumns +
                         " FROM images WHERE deleted = 0 AND status IN ('active', 'deactivated') "
                         "AND size IS NOT NULL AND os_hash_value IS NOT NULL AND NOT EXISTS "
                         "(SELECT 1 FROM image_manifests m WHERE m.image_id = images.id) "
                         "ORDER BY created_at, id LIMIT ?");
    if (!st.ok()) return st.status();
    st->Bind(1, static_cast<int64_t>(limit));
    for (;;) {
      auto r = st->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      out.push_back(ReadImage(*st));
    }
    return LoadChildren(db, out);
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace glint::catalog
