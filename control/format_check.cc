#include "control/format_check.h"

#include <algorithm>
#include <vector>

namespace glint::control {

format::Declared DeclaredOf(const catalog::ImageRecord& image) {
  return {image.disk_format, image.container_format};
}

void RecordVerdict(const format::Verdict& verdict, catalog::ImageRecord* facts) {
  facts->virtual_size = verdict.virtual_size;
  facts->properties[kFormatCheckProperty] = verdict.Summary();
}

Result<format::Verdict> InspectStored(store::Reader& reader, const format::Policy& policy,
                                      const format::Declared& declared) {
  constexpr size_t kRead = 64 * 1024;
  constexpr int kMaxReads = 64;
  std::vector<char> buf(kRead);
  format::Inspector inspector;
  const int64_t size = reader.size();
  for (int reads = 0; reads < kMaxReads; ++reads) {
    auto next = inspector.NextWanted(size);
    if (!next) break;
    inspector.SkipTo(*next);
    const size_t want = static_cast<size_t>(std::min<int64_t>(kRead, size - *next));
    size_t got = 0;
    while (got < want) {
      auto n = reader.ReadAt(*next + static_cast<int64_t>(got), buf.data() + got, want - got);
      if (!n.ok()) return n.status();
      if (*n == 0) return Status::IOError("the stored data ended early, at byte " + std::to_string(*next + got));
      got += *n;
    }
    inspector.Feed(buf.data(), got);
  }
  if (inspector.NextWanted(size)) return Status::InvalidArgument("Image format check failed: too many header regions");
  // The inspector saw only regions: its size is the data's, not how far it read.
  inspector.SkipTo(size);
  return format::Judge(inspector.Finish(), policy, declared);
}

}  // namespace glint::control
