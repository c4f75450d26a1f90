#include "control/copy_stream.h"

#include <algorithm>
#include <cstring>

#include "format/inspector.h"

namespace glint::control {
namespace {
constexpr size_t kChunk = 1 << 20;
}  // namespace

CopySink::CopySink(store::Writer& to, const CopyOptions& options)
    : to_(to), o_(options), buf_(NewAlignedBuffer(kChunk)), last_renew_(options.clock->NowMicros()) {
  if (o_.sha512) sha512_.emplace(Digest::Algorithm::kSha512);
  if (!o_.manifest_for.empty()) manifest_.emplace();
}

Status CopySink::Chunk(const char* data, size_t n) {
  if (o_.size_cap >= 0 && size_ + static_cast<int64_t>(n) > o_.size_cap) {
    return Status::TooLarge("Image exceeds the storage quota or the size limit of " + std::to_string(o_.size_cap) +
                            " bytes");
  }
  inspector_.Feed(data, n);
  md5_.Update(data, n);
  if (sha512_) sha512_->Update(data, n);
  if (manifest_) manifest_->Update(data, n);
  GLINT_RETURN_IF_ERROR(to_.Write(data, n));
  size_ += static_cast<int64_t>(n);
  if (o_.renew && o_.clock->NowMicros() - last_renew_ > o_.renew_every) {
    GLINT_RETURN_IF_ERROR(o_.renew());
    last_renew_ = o_.clock->NowMicros();
  }
  return Status::Ok();
}

Status CopySink::Feed(const char* data, size_t len) {
  while (len > 0) {
    size_t n = std::min(len, kChunk - fill_);
    std::memcpy(buf_.get() + fill_, data, n);
    fill_ += n;
    data += n;
    len -= n;
    if (fill_ == kChunk) {
      fill_ = 0;
      GLINT_RETURN_IF_ERROR(Chunk(buf_.get(), kChunk));
    }
  }
  return Status::Ok();
}

Result<CopyResult> CopySink::Finish() {
  if (fill_ > 0) {
    size_t n = fill_;
    fill_ = 0;
    GLINT_RETURN_IF_ERROR(Chunk(buf_.get(), n));
  }
  auto verdict = format::Judge(inspector_.Finish(), o_.format_policy, o_.declared);
  if (!verdict.ok()) return verdict.status();
  CopyResult r;
  r.size = size_;
  r.verdict = *verdict;
  r.md5 = md5_.FinishHex();
  if (sha512_) r.sha512 = sha512_->FinishHex();
  if (manifest_) r.manifest = manifest_->Finish(o_.manifest_for, r.sha512 ? "sha512" : "", r.sha512.value_or(""));
  return r;
}

Result<CopyResult> CopyStream(store::Reader& from, store::Writer& to, const CopyOptions& o) {
  CopySink sink(to, o);
  const int64_t size = from.size();
  int64_t off = 0;
  while (off < size) {
    auto n = from.ReadAt(off, sink.buf_.get(), kChunk);  // whole chunks straight from the source
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::IOError("the source data ended early, at byte " + std::to_string(off));
    GLINT_RETURN_IF_ERROR(sink.Chunk(sink.buf_.get(), *n));
    off += static_cast<int64_t>(*n);
  }
  return sink.Finish();
}

}  // namespace glint::control
