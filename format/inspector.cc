#include "format/inspector.h"

#include <algorithm>

#include "format/probes.h"

namespace glint::format {

const std::string& Head(const Regions& regions) {
  static const std::string kEmpty;
  const Region* r = regions.Get("head");
  return r ? r->data : kEmpty;
}

std::string Quote(const std::string& raw, size_t max) {
  std::string out = "\"";
  for (char c : raw.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  out += raw.size() > max ? "...\"" : "\"";
  return out;
}

Inspector::Inspector() {
  (void)regions_.Declare("head", 0, kHeadBytes, 0);
  probes_.push_back(NewQcow2Probe());
  probes_.push_back(NewVmdkProbe());
  probes_.push_back(NewVhdProbe());
  probes_.push_back(NewVhdxProbe());
  probes_.push_back(NewVdiProbe());
  probes_.push_back(NewIsoProbe());
  probes_.push_back(NewLuksProbe());
  probes_.push_back(NewPartitionTableProbe());
}

Inspector::~Inspector() = default;

void Inspector::Feed(const char* data, size_t n) {
  // In slices that end where a region completes, so that a probe can declare the regions
  // it points to before the bytes of those pass (they may be in this very chunk).
  while (n > 0) {
    size_t step = n;
    if (auto end = regions_.NextEnd(pos_)) step = static_cast<size_t>(std::min<int64_t>(step, *end - pos_));
    regions_.Capture(data, step, pos_);
    if (step >= kTailBytes) {
      tail_.assign(data + step - kTailBytes, kTailBytes);
    } else {
      tail_.append(data, step);
      if (tail_.size() > kTailBytes) tail_.erase(0, tail_.size() - kTailBytes);
    }
    pos_ += static_cast<int64_t>(step);
    data += step;
    n -= step;
    for (auto& p : probes_) p->Advance(regions_, pos_);
  }
}

void Inspector::SkipTo(int64_t offset) {
  if (offset <= pos_) return;
  tail_.clear();  // the tail must be contiguous with the end
  pos_ = offset;
}

std::optional<int64_t> Inspector::NextWanted(int64_t total_size) const {
  std::optional<int64_t> next = regions_.NextWanted(pos_);
  if (next && *next >= total_size) next.reset();
  const int64_t tail_start = std::max<int64_t>(pos_, total_size - static_cast<int64_t>(kTailBytes));
  if (pos_ < total_size && (!next || *next > tail_start)) next = tail_start;
  return next;
}

Report Inspector::Finish() const {
  Report r;
  r.data_size = pos_;
  for (const auto& p : probes_) {
    if (auto f = p->Finish(regions_, tail_, pos_)) r.findings.push_back(std::move(*f));
  }
  return r;
}

}  // namespace glint::format
