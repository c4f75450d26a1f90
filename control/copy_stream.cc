#include "control/copy_stream.h"

#include "common/aligned_buffer.h"
#include "common/digest.h"
#include "format/inspector.h"

namespace glint::control {

Result<CopyResult> CopyStream(store::Reader& from, store::Writer& to, const CopyOptions& o) {
  constexpr size_t kChunk = 1 << 20;
  AlignedBuffer buf = NewAlignedBuffer(kChunk);
  Digest md5(Digest::Algorithm::kMd5);
  format::Inspector inspector;
  std::optional<Digest> sha512;
  if (o.sha512) sha512.emplace(Digest::Algorithm::kSha512);
  const int64_t size = from.size();
  int64_t off = 0, last_renew = o.clock->NowMicros();
  while (off < size) {
    auto n = from.ReadAt(off, buf.get(), kChunk);
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::IOError("the source data ended early, at byte " + std::to_string(off));
    inspector.Feed(buf.get(), *n);
    md5.Update(buf.get(), *n);
    if (sha512) sha512->Update(buf.get(), *n);
    GLINT_RETURN_IF_ERROR(to.Write(buf.get(), *n));
    off += static_cast<int64_t>(*n);
    if (o.renew && o.clock->NowMicros() - last_renew > o.renew_every) {
      GLINT_RETURN_IF_ERROR(o.renew());
      last_renew = o.clock->NowMicros();
    }
  }
  auto verdict = format::Judge(inspector.Finish(), o.format_policy, o.declared);
  if (!verdict.ok()) return verdict.status();
  CopyResult r;
  r.size = size;
  r.verdict = *verdict;
  r.md5 = md5.FinishHex();
  if (sha512) r.sha512 = sha512->FinishHex();
  return r;
}

}  // namespace glint::control
