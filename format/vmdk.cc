// vmdk: the sparse header (KDMV) and the descriptor embedded right after it. Only a
// single-file sparse image is acceptable: one SPARSE extent naming no path, a capacity in
// the header (with none, qemu would take the extents from the descriptor), no parent, the
// grain directory in the header (a footer cannot be honoured while streaming, as in
// Glance). A descriptor file (text) is reported as vmdk with its extents refused.
// Which createType values are allowed is the verdict's (vmdk_allowed_types).
#include <algorithm>
#include <cctype>
#include <sstream>

#include "common/text.h"
#include "format/probes.h"

namespace glint::format {
namespace {

constexpr uint64_t kGdAtEnd = ~uint64_t{0};
constexpr uint64_t kMaxDescriptorSectors = 127;  // the descriptor must lie in the head

// Reads descriptor lines as Glance does (comments, ddb.*, key=value, extents; anything
// else refused), and stricter: exactly one SPARSE extent naming a file without a path.
void ParseDescriptor(const std::string& text, Finding* f) {
  for (unsigned char c : text) {
    if (!(c == '\n' || c == '\r' || c == '\t' || (c >= 0x20 && c < 0x7f))) {
      f->problems.push_back("vmdk descriptor is not ASCII text");
      return;
    }
  }
  std::istringstream in(text);
  std::string raw;
  int extents = 0;
  while (std::getline(in, raw)) {
    const std::string line = Trimmed(raw, " \t\r");
    const std::string lower = AsciiLower(line);
    if (line.empty() || line[0] == '#' || lower.rfind("ddb", 0) == 0) continue;
    const size_t eq = line.find('=');
    const std::string word = lower.substr(0, lower.find(' '));
    if (eq != std::string::npos && line.substr(0, eq).find(' ') == std::string::npos) {
      const std::string key = AsciiLower(Trimmed(line.substr(0, eq), " \t\r"));
      std::string value = Trimmed(line.substr(eq + 1), " \t\r");
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      if (key == "createtype") f->subformat = value;
      if (key == "parentfilenamehint") f->problems.push_back("vmdk image has a parent " + Quote(value));
    } else if (word == "rw" || word == "rdonly" || word == "noaccess") {
      ++extents;
      std::istringstream e(line);
      std::string access, sectors, type, name;
      e >> access >> sectors >> type;
      std::getline(e, name);
      name = Trimmed(name, " \t\r");
      if (type != "SPARSE") {
        f->problems.push_back("vmdk extent of type " + Quote(type, 20) + " is not part of the image");
      } else if (name.find_first_of("/\\") != std::string::npos || name.size() < 2 || name.front() != '"') {
        f->problems.push_back("vmdk extent " + Quote(name) + " names a file outside the image");
      }
    } else {
      f->problems.push_back("vmdk descriptor has an unsupported line " + Quote(line, 40));
      return;
    }
  }
  if (f->subformat.empty()) f->problems.push_back("vmdk descriptor has no createType");
  if (extents != 1) f->problems.push_back("vmdk has " + std::to_string(extents) + " extents (one expected)");
}

class VmdkProbe final : public Probe {
 public:
  std::optional<Finding> Finish(const Regions& regions, const std::string&, int64_t) const override {
    const std::string& h = Head(regions);
    Finding f;
    f.format = "vmdk";
    if (AsciiLower(h.substr(0, 21)) == "# disk descriptorfile") {
      f.subformat = "descriptor";
      f.problems.push_back("vmdk descriptor file: its extents are files outside the image");
      return f;
    }
    if (h.size() < 4 || h.compare(0, 4, "KDMV") != 0) return std::nullopt;
    if (h.size() < 512) {
      f.problems.push_back("vmdk header is truncated");
      return f;
    }
    const uint32_t version = Le(h, 4, 4);
    const uint64_t capacity = Le(h, 12, 8), grain = Le(h, 20, 8);
    const uint64_t desc_offset = Le(h, 28, 8), desc_size = Le(h, 36, 8), gd_offset = Le(h, 56, 8);
    if (version < 1 || version > 3) {
      f.problems.push_back("vmdk version " + std::to_string(version) + " is not supported");
      return f;
    }
    if (capacity == 0) f.problems.push_back("vmdk header declares no capacity (extents would come from its descriptor)");
    if (capacity > (uint64_t{1} << 51)) f.problems.push_back("vmdk capacity is impossible");
    if (grain == 0 || (grain & (grain - 1)) != 0 || grain > 1 << 20) f.problems.push_back("vmdk grain size is impossible");
    if (gd_offset == kGdAtEnd) f.problems.push_back("vmdk with a footer (grain directory at the end) is not supported");
    if (f.problems.empty()) f.virtual_size = static_cast<int64_t>(capacity * 512);
    if (desc_offset != 1 || desc_size == 0 || desc_size > kMaxDescriptorSectors) {
      f.problems.push_back("vmdk descriptor location is impossible (sector " + std::to_string(desc_offset) +
                           ", " + std::to_string(desc_size) + " sectors)");
      return f;
    }
    const size_t end = 512 + desc_size * 512;
    if (h.size() < end) {
      f.problems.push_back("vmdk descriptor is truncated");
      return f;
    }
    std::string text = h.substr(512, end - 512);
    text = text.substr(0, text.find('\0'));
    ParseDescriptor(text, &f);
    return f;
  }
};

}  // namespace

std::unique_ptr<Probe> NewVmdkProbe() { return std::make_unique<VmdkProbe>(); }

}  // namespace glint::format
