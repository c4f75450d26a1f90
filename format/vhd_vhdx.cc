// vhd and vhdx. vhd: the 512-byte footer (copied at the start of dynamic disks, only at
// the end of fixed ones); differencing disks (a parent) are refused. vhdx: the region
// table at 192 KiB points to the metadata region, whose table points to the virtual disk
// size and the file parameters; both are captured as they stream past. A parent locator
// or the HasParent flag (a differencing disk) is refused, as are impossible offsets.
#include <array>
#include <vector>

#include "format/probes.h"

namespace glint::format {
namespace {

class VhdProbe final : public Probe {
 public:
  std::optional<Finding> Finish(const Regions& regions, const std::string& tail, int64_t size) const override {
    const std::string& h = Head(regions);
    std::string footer;
    if (h.size() >= 8 && h.compare(0, 8, "conectix") == 0) {
      footer = h.substr(0, 512);
    } else if (tail.size() == 512 && tail.compare(0, 8, "conectix") == 0) {
      footer = tail;
    } else {
      return std::nullopt;
    }
    Finding f;
    f.format = "vhd";
    if (footer.size() < 512) {
      f.problems.push_back("vhd footer is truncated");
      return f;
    }
    const uint64_t data_offset = Be(footer, 16, 8), current_size = Be(footer, 48, 8);
    const uint32_t type = Be(footer, 60, 4);
    if (type == 4) {
      f.subformat = "differencing";
      f.problems.push_back("vhd image is a differencing disk (it has a parent)");
      return f;
    }
    if (type != 2 && type != 3) {
      f.problems.push_back("vhd disk type " + std::to_string(type) + " is impossible");
      return f;
    }
    f.subformat = type == 2 ? "fixed" : "dynamic";
    if (type == 3 && (data_offset < 512 || data_offset % 512 != 0 || data_offset >= static_cast<uint64_t>(size))) {
      f.problems.push_back("vhd dynamic header offset is impossible");
    }
    if (current_size > (uint64_t{1} << 50)) {
      f.problems.push_back("vhd virtual size is impossible");
    } else {
      f.virtual_size = static_cast<int64_t>(current_size);
    }
    return f;
  }
};

// A GUID as vhdx stores it: the first three fields little-endian.
std::string GuidBytes(const char* text) {
  static constexpr std::array<int, 16> kOrder = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  std::string hex;
  for (const char* p = text; *p; ++p) {
    if (*p != '-') hex += *p;
  }
  std::string out(16, '\0');
  for (int i = 0; i < 16; ++i) out[i] = static_cast<char>(std::stoi(hex.substr(kOrder[i] * 2, 2), nullptr, 16));
  return out;
}

constexpr int64_t kRegionTable = 192 * 1024, kTableBytes = 64 * 1024, kMiB = 1 << 20;

class VhdxProbe final : public Probe {
 public:
  void Advance(Regions& regions, int64_t pos) override {
    if (state_ == 0 && Head(regions).size() >= 8) {
      state_ = Head(regions).compare(0, 8, "vhdxfile") == 0 ? 1 : -1;
      if (state_ == 1) (void)regions.Declare("vhdx_regions", kRegionTable, kTableBytes, pos);
    }
    if (state_ == 1 && Complete(regions, "vhdx_regions")) {
      state_ = 2;
      if (FindMetadata(regions.Get("vhdx_regions")->data)) {
        (void)regions.Declare("vhdx_metadata", meta_offset_, kTableBytes, pos);
      }
    }
    if (state_ == 2 && Complete(regions, "vhdx_metadata")) {
      state_ = 3;
      ReadMetadataTable(regions.Get("vhdx_metadata")->data);
      if (size_item_ > 0) (void)regions.Declare("vhdx_size", meta_offset_ + size_item_, 8, pos);
      if (params_item_ > 0) (void)regions.Declare("vhdx_params", meta_offset_ + params_item_, 8, pos);
    }
  }

  std::optional<Finding> Finish(const Regions& regions, const std::string&, int64_t) const override {
    if (state_ <= 0) return std::nullopt;
    Finding f;
    f.format = "vhdx";
    f.problems = problems_;
    if (!f.problems.empty()) return f;
    if (state_ < 3 || size_item_ == 0 || !Complete(regions, "vhdx_size")) {
      f.problems.push_back("vhdx metadata is missing (truncated data, or placed before its table)");
      return f;
    }
    if (params_item_ > 0 && Complete(regions, "vhdx_params") && (Le(regions.Get("vhdx_params")->data, 4, 4) & 2)) {
      f.problems.push_back("vhdx image is a differencing disk (it has a parent)");
    }
    const uint64_t size = Le(regions.Get("vhdx_size")->data, 0, 8);
    if (size > (uint64_t{1} << 50)) {
      f.problems.push_back("vhdx virtual size is impossible");
    } else {
      f.virtual_size = static_cast<int64_t>(size);
    }
    return f;
  }

 private:
  static bool Complete(const Regions& regions, const char* name) {
    const Region* r = regions.Get(name);
    return r && r->complete();
  }

  bool FindMetadata(const std::string& t) {
    static const std::string kMetadata = GuidBytes("8B7CA206-4790-4B9A-B8FE-575F050F886E");
    static const std::string kBat = GuidBytes("2DC27766-F623-4200-9D64-115E9BFD4A08");
    const uint32_t count = Le(t, 8, 4);
    if (t.compare(0, 4, "regi") != 0 || count > 2047) {
      problems_.push_back("vhdx region table is invalid");
      return false;
    }
    for (uint32_t i = 0; i < count; ++i) {
      const size_t e = 16 + 32 * i;
      const std::string guid = t.substr(e, 16);
      const uint64_t offset = Le(t, e + 16, 8), length = Le(t, e + 24, 4);
      const bool required = Le(t, e + 28, 4) & 1;
      if (guid == kMetadata) {
        if (offset < kMiB || offset % kMiB != 0 || length < kTableBytes || offset > (uint64_t{1} << 50)) {
          problems_.push_back("vhdx metadata region offset is impossible");
          return false;
        }
        meta_offset_ = static_cast<int64_t>(offset);
        meta_length_ = length;
      } else if (guid != kBat && required) {
        problems_.push_back("vhdx image has an unknown required region");
      }
    }
    if (meta_offset_ == 0) problems_.push_back("vhdx image has no metadata region");
    return meta_offset_ != 0 && problems_.empty();
  }

  void ReadMetadataTable(const std::string& t) {
    static const std::string kSize = GuidBytes("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
    static const std::string kParams = GuidBytes("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    static const std::string kParent = GuidBytes("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");
    const uint32_t count = Le(t, 10, 2);
    if (t.compare(0, 8, "metadata") != 0 || count > 2047) {
      problems_.push_back("vhdx metadata table is invalid");
      return;
    }
    for (uint32_t i = 0; i < count; ++i) {
      const size_t e = 32 + 32 * i;
      const std::string guid = t.substr(e, 16);
      const uint64_t offset = Le(t, e + 16, 4), length = Le(t, e + 20, 4);
      const bool in_region = offset >= static_cast<uint64_t>(kTableBytes) && offset + length <= meta_length_;
      if (guid == kParent) problems_.push_back("vhdx image has a parent locator (a differencing disk)");
      if (guid != kSize && guid != kParams) continue;
      if (!in_region || length != 8) {
        problems_.push_back("vhdx metadata item offset is impossible");
        continue;
      }
      (guid == kSize ? size_item_ : params_item_) = static_cast<int64_t>(offset);
    }
  }

  int state_ = 0;  // -1 not vhdx, 1 region table wanted, 2 metadata table wanted, 3 items wanted
  int64_t meta_offset_ = 0, size_item_ = 0, params_item_ = 0;
  uint64_t meta_length_ = 0;
  std::vector<std::string> problems_;
};

}  // namespace

std::unique_ptr<Probe> NewVhdProbe() { return std::make_unique<VhdProbe>(); }
std::unique_ptr<Probe> NewVhdxProbe() { return std::make_unique<VhdxProbe>(); }

}  // namespace glint::format
