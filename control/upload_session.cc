#include "control/upload_session.h"

#include "common/ids.h"
#include "control/format_check.h"
#include "control/http_errors.h"
#include "control/image_decompression.h"
#include "control/job_boundary.h"

namespace glint::control {

UploadSession::UploadSession(Post post, catalog::Catalog& catalog,
                             std::unique_ptr<store::Writer> writer, store::Backend& backend,
                             catalog::UploadLock lock, format::Declared declared, format::Policy policy,
                             int64_t size_cap, int lock_ttl_seconds, Mode mode)
    : post_(post), catalog_(catalog), writer_(std::move(writer)), backend_(backend),
      lock_(std::move(lock)), mode_(mode), size_cap_(size_cap), lock_ttl_(lock_ttl_seconds),
      last_renew_(NowMicros()), md5_queue_(post), sha_queue_(post),
      manifest_queue_(post), write_queue_(post) {
  declared_ = std::move(declared);
  policy_ = std::move(policy);
  for (int i = 0; i < kChunks; ++i) {
    auto c = std::make_unique<UploadChunk>();
    c->capacity = kChunkSize;
    free_.push_back(c.get());
    chunks_.push_back(std::move(c));
  }
}

UploadSession::~UploadSession() = default;

UploadChunk* UploadSession::TakeBuffer() {
  std::lock_guard<std::mutex> l(mu_);
  if (free_.empty()) return nullptr;
  UploadChunk* c = free_.back();
  free_.pop_back();
  if (!c->data) c->data = NewAlignedBuffer(c->capacity);
  c->len = 0;
  return c;
}

void UploadSession::WhenBufferFree(std::function<void()> resume) {
  std::unique_lock<std::mutex> l(mu_);
  if (!free_.empty()) {
    l.unlock();
    post_(std::move(resume));
    return;
  }
  waiter_ = std::move(resume);
}

void UploadSession::Release(UploadChunk* c) {
  std::function<void()> resume;
  {
    std::lock_guard<std::mutex> l(mu_);
    free_.push_back(c);
    resume = std::move(waiter_);
    waiter_ = nullptr;
  }
  if (resume) resume();
}

Status UploadSession::Submit(UploadChunk* c) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!error_.ok()) {
      free_.push_back(c);
      return error_;
    }
    if (total_ + static_cast<int64_t>(c->len) > size_cap_) {
      free_.push_back(c);
      error_ = Status::TooLarge("The incoming image is too large: it exceeds image_size_cap (" +
                                std::to_string(size_cap_) + " bytes)");
      return error_;
    }
    inspector_.Feed(c->data.get(), c->len);
    if (head_.size() < 8) head_.append(c->data.get(), std::min<size_t>(c->len, 8 - head_.size()));
    total_ += static_cast<int64_t>(c->len);
    ++in_flight_;
  }
  auto self = shared_from_this();
  if (mode_ == Mode::kStage) {
    c->pending = 1;  // staged data is hashed when it is imported
  } else {
    c->pending = 4;
    md5_queue_.Push([self, c] { self->RunStep(c, "md5", [&] { self->md5_.Update(c->data.get(), c->len); }); });
    sha_queue_.Push([self, c] {
      self->RunStep(c, "sha512", [&] { self->sha512_.Update(c->data.get(), c->len); });
    });
    manifest_queue_.Push([self, c] {
      self->RunStep(c, "manifest", [&] { self->manifest_.Update(c->data.get(), c->len); });
    });
  }
  write_queue_.Push([self, c] { self->RunStep(c, "store write", [&] { self->WriteChunk(c); }); });
  return Status::Ok();
}

template <typename Fn>
void UploadSession::RunStep(UploadChunk* c, const char* step, Fn&& fn) {
  try {
    fn();
  } catch (...) {
    LogEscapedException(request_id_ + " upload " + step);
    SetError(Status::Internal("Internal error while handling the request " + request_id_));
  }
  ChunkDone(c);
}

void UploadSession::WriteChunk(UploadChunk* c) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!error_.ok()) return;
  }
  Status s = writer_->Write(c->data.get(), c->len);
  int64_t now = NowMicros();
  if (s.ok() && now - last_renew_ > int64_t{lock_ttl_} * 1000000 / 3) {
    s = catalog_.RenewUpload(lock_, now + int64_t{lock_ttl_} * 1000000);
    last_renew_ = now;
  }
  if (!s.ok()) SetError(s);
}

void UploadSession::SetError(Status s) {
  std::lock_guard<std::mutex> l(mu_);
  if (error_.ok()) error_ = std::move(s);
}

void UploadSession::ChunkDone(UploadChunk* c) {
  if (--c->pending > 0) return;
  std::function<void()> resume;
  {
    std::lock_guard<std::mutex> l(mu_);
    free_.push_back(c);
    --in_flight_;
    resume = std::move(waiter_);
    waiter_ = nullptr;
  }
  if (resume) resume();
  MaybeFinalize();
}

void UploadSession::Finish(Status network, std::function<void(HttpResponse)> done) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (finishing_) return;  // already finishing: the first outcome stands
    finishing_ = true;
    network_ = std::move(network);
    done_ = std::move(done);
  }
  MaybeFinalize();
}

void UploadSession::MaybeFinalize() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!finishing_ || in_flight_ > 0 || finalized_) return;
    finalized_ = true;
  }
  auto self = shared_from_this();
  post_([self] {
    Status outcome;
    try {
      outcome = self->Finalize();
    } catch (...) {
      LogEscapedException(self->request_id_ + " upload commit");
      outcome = self->AbortAfterThrow();
    }
    if (self->on_finished_) {
      RunContained(self->request_id_ + " upload finished", [&] { self->on_finished_(outcome); });
    }
    auto done = std::move(self->done_);
    done(outcome.ok() ? EmptyResponse(204) : ErrorResponse(outcome));
  });
}

// Finalize threw midway: undo what may have been done, as any failed upload does (the
// image goes back to queued), and answer 500.
Status UploadSession::AbortAfterThrow() {
  RunContained(request_id_ + " upload abort", [this] {
    writer_->Abort();
    (void)catalog_.AbortUpload(lock_);
  });
  return Status::Internal("Internal error while handling the request " + request_id_);
}

Result<format::Verdict> UploadSession::JudgeFormat() {
  std::lock_guard<std::mutex> l(mu_);
  format::Declared declared = declared_;
  if (accept_compressed_ && DetectCompression(head_) != Compression::kNone) declared.container_format = "compressed";
  return format::Judge(inspector_.Finish(), policy_, declared);
}

Status UploadSession::Finalize() {
  Status failure = error_.ok() ? network_ : error_;
  auto verdict = JudgeFormat();
  if (failure.ok() && !verdict.ok()) failure = verdict.status();
  if (!failure.ok()) {
    writer_->Abort();
    (void)catalog_.AbortUpload(lock_);
    return failure;
  }
  if (mode_ == Mode::kStage) {
    auto staged = writer_->Commit();
    Status s = staged.ok() ? catalog_.FinishStage(lock_, total_) : staged.status();
    if (!s.ok()) {
      if (staged.ok()) (void)backend_.Delete(*staged);
      writer_->Abort();
      (void)catalog_.AbortUpload(lock_);
      return s;
    }
    return Status::Ok();
  }
  catalog::ImageRecord facts;
  facts.size = total_;
  facts.checksum = md5_.FinishHex();
  facts.os_hash_algo = "sha512";
  facts.os_hash_value = sha512_.FinishHex();
  RecordVerdict(*verdict, &facts);
  auto location = writer_->Commit();
  if (!location.ok()) {
    writer_->Abort();
    (void)catalog_.AbortUpload(lock_);
    return location.status();
  }
  catalog::ImageLocation loc{*location, "{}", backend_.id()};
  ChunkManifest manifest = manifest_.Finish(lock_.image_id, "sha512", *facts.os_hash_value);
  Status s = catalog_.CompleteUpload(lock_, facts, loc, &manifest);
  if (!s.ok()) {
    // The image was deleted (or the lock recovered) while uploading: the data is nobody's.
    (void)backend_.Delete(*location);
    (void)catalog_.AbortUpload(lock_);
    return s;
  }
  return Status::Ok();
}

}  // namespace glint::control
