// UploadSession: one image upload, from the first body byte to `active`.
//
// The network layer fills fixed-size chunks and submits them; each chunk is then md5-hashed,
// sha512-hashed, SHA-256-hashed into the chunk manifest and written to the store by four
// serial queues running on the worker pool, so the digests and the write proceed in
// parallel while the socket keeps reading.
// At most kChunks chunks exist (bounded memory, whatever the image size): when all are
// busy the reader waits for one to come back (backpressure to the client).
//
// The data's format is inspected as it passes (format/); refused data is never committed:
// the client gets 400 saying what was found and the image goes back to queued.
//
// Threads: TakeBuffer/WhenBufferFree/Submit/Finish are called from the connection's strand;
// everything else runs on the worker pool. Finish's callback runs on a worker thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/aligned_buffer.h"
#include "common/chunk_manifest.h"
#include "common/digest.h"
#include "control/http_types.h"
#include "control/post.h"
#include "control/serial_queue.h"
#include "format/inspector.h"
#include "format/verdict.h"
#include "store/backend.h"

namespace glint::control {

struct UploadChunk {
  AlignedBuffer data;
  size_t capacity = 0;
  size_t len = 0;
  std::atomic<int> pending{0};
};

class UploadSession : public std::enable_shared_from_this<UploadSession> {
 public:
  static constexpr size_t kChunkSize = 1 << 20;
  static constexpr int kChunks = 16;

  // kStage: the data goes to the staging area for a later import (glance-direct): the
  // image stays `uploading` with its size instead of becoming active.
  enum class Mode { kUpload, kStage };
  UploadSession(Post post, catalog::Catalog& catalog, std::unique_ptr<store::Writer> writer,
                store::Backend& backend, catalog::UploadLock lock,
                format::Declared declared, format::Policy policy, int64_t size_cap, int lock_ttl_seconds,
                Mode mode = Mode::kUpload);
  ~UploadSession();

  UploadChunk* TakeBuffer();  // nullptr when all chunks are in flight
  // `resume` runs (on a pool thread) once a chunk is free again.
  void WhenBufferFree(std::function<void()> resume);
  // Gives back a chunk that carries no data.
  void Release(UploadChunk* chunk);
  // Hands a filled chunk to the pipeline. An error means: stop reading and Finish.
  Status Submit(UploadChunk* chunk);
  // The body ended (`network` ok) or broke off. Waits for in-flight chunks, then commits
  // (queued -> active) or aborts (back to queued, partial data removed).
  void Finish(Status network, std::function<void(HttpResponse)> done);
  // Staged data for an image_decompression import: data that starts with a compression
  // magic number passes with only the refusals that apply to any container; the import
  // inspects it again once decompressed.
  void AcceptCompressed() { accept_compressed_ = true; }
  // Names the request in log lines about this upload.
  void set_request_id(std::string id) { request_id_ = std::move(id); }
  // Runs (on a worker thread) with the upload's outcome once it is committed or aborted,
  // before the response is sent (the handler's notifications).
  void set_on_finished(std::function<void(const Status&)> f) { on_finished_ = std::move(f); }

 private:
  // Runs one pipeline step on `chunk`, then counts it done. A step that throws fails the
  // upload (500) instead of leaving the chunk, and so the whole upload, pending forever.
  template <typename Fn>
  void RunStep(UploadChunk* chunk, const char* step, Fn&& fn);
  void ChunkDone(UploadChunk* chunk);
  void MaybeFinalize();
  Status Finalize();
  // The data's format verdict; a refusal aborts the upload (image back to queued).
  Result<format::Verdict> JudgeFormat();
  Status AbortAfterThrow();
  void WriteChunk(UploadChunk* chunk);
  void SetError(Status s);

  Post post_;
  catalog::Catalog& catalog_;
  std::unique_ptr<store::Writer> writer_;
  store::Backend& backend_;
  catalog::UploadLock lock_;
  Mode mode_;
  int64_t size_cap_;
  int lock_ttl_;
  int64_t last_renew_;
  // Fed every chunk (on the strand, under mu_); judged before anything is committed.
  format::Inspector inspector_;
  format::Declared declared_;
  format::Policy policy_;
  bool accept_compressed_ = false;
  std::string head_;  // the data's first bytes (DetectCompression)

  Digest md5_{Digest::Algorithm::kMd5};
  Digest sha512_{Digest::Algorithm::kSha512};
  ChunkManifestBuilder manifest_;
  SerialQueue md5_queue_, sha_queue_, manifest_queue_, write_queue_;

  std::mutex mu_;
  std::vector<std::unique_ptr<UploadChunk>> chunks_;
  std::vector<UploadChunk*> free_;
  std::function<void()> waiter_;
  int in_flight_ = 0;
  int64_t total_ = 0;
  Status error_;
  bool finishing_ = false;
  bool finalized_ = false;
  Status network_;
  std::function<void(HttpResponse)> done_;
  std::string request_id_;
  std::function<void(const Status&)> on_finished_;
};

}  // namespace glint::control
