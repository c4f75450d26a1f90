// vdi, iso, LUKS and partition tables (GPT, MBR: raw data with a table, never refused).
#include "format/probes.h"

namespace glint::format {
namespace {

class VdiProbe final : public Probe {
 public:
  std::optional<Finding> Finish(const Regions& regions, const std::string&, int64_t) const override {
    const std::string& h = Head(regions);
    if (h.size() < 68 || Le(h, 64, 4) != 0xbeda107f) return std::nullopt;
    Finding f;
    f.format = "vdi";
    if (h.size() < 400) {
      f.problems.push_back("vdi header is truncated");
      return f;
    }
    const uint32_t type = Le(h, 76, 4), blocks_offset = Le(h, 340, 4), data_offset = Le(h, 344, 4);
    const uint64_t size = Le(h, 368, 8);
    const uint32_t block_size = Le(h, 376, 4), blocks = Le(h, 384, 4);
    if (type == 3 || type == 4) {
      f.subformat = type == 3 ? "undo" : "differencing";
      f.problems.push_back("vdi image is a " + f.subformat + " image (it has a parent)");
      return f;
    }
    if (type != 1 && type != 2) {
      f.problems.push_back("vdi image type " + std::to_string(type) + " is impossible");
      return f;
    }
    f.subformat = type == 1 ? "dynamic" : "fixed";
    if (block_size == 0 || (block_size & (block_size - 1)) != 0 || blocks_offset < 512 || data_offset <= blocks_offset ||
        size > uint64_t{blocks} * block_size) {
      f.problems.push_back("vdi header sizes or offsets are impossible");
      return f;
    }
    f.virtual_size = static_cast<int64_t>(size);
    return f;
  }
};

// The primary volume descriptor at 32 KiB (within the head); an ISO is raw to a
// hypervisor, so its virtual size is its data size (as qemu-img says).
class IsoProbe final : public Probe {
 public:
  std::optional<Finding> Finish(const Regions& regions, const std::string&, int64_t size) const override {
    const std::string& h = Head(regions);
    if (h.size() < 32774 || h.compare(32769, 5, "CD001") != 0) return std::nullopt;
    Finding f;
    f.format = "iso";
    f.virtual_size = size;
    return f;
  }
};

class LuksProbe final : public Probe {
 public:
  std::optional<Finding> Finish(const Regions& regions, const std::string&, int64_t size) const override {
    const std::string& h = Head(regions);
    if (h.size() < 6 || h.compare(0, 6, "LUKS\xba\xbe") != 0) return std::nullopt;
    Finding f;
    f.format = "luks";
    const uint32_t version = Be(h, 6, 2);
    f.subformat = "v" + std::to_string(version);
    if (version == 1 && h.size() >= 108) {
      const uint64_t payload = uint64_t{static_cast<uint32_t>(Be(h, 104, 4))} * 512;
      if (payload <= static_cast<uint64_t>(size)) f.virtual_size = size - static_cast<int64_t>(payload);
    } else if (version != 2) {
      f.problems.push_back("LUKS version " + std::to_string(version) + " is not supported");
    }
    return f;
  }
};

class PartitionTableProbe final : public Probe {
 public:
  std::optional<Finding> Finish(const Regions& regions, const std::string&, int64_t size) const override {
    const std::string& h = Head(regions);
    if (h.size() < 512 || static_cast<unsigned char>(h[510]) != 0x55 || static_cast<unsigned char>(h[511]) != 0xaa) {
      return std::nullopt;
    }
    bool gpt = false;
    for (int i = 0; i < 4; ++i) {
      const unsigned char boot = h[446 + 16 * i], type = h[446 + 16 * i + 4];
      if (boot != 0 && boot != 0x80) return std::nullopt;  // not a partition table
      gpt = gpt || type == 0xee;
    }
    Finding f;
    f.format = gpt ? "gpt" : "mbr";
    f.virtual_size = size;
    return f;
  }
};

}  // namespace

std::unique_ptr<Probe> NewVdiProbe() { return std::make_unique<VdiProbe>(); }
std::unique_ptr<Probe> NewIsoProbe() { return std::make_unique<IsoProbe>(); }
std::unique_ptr<Probe> NewLuksProbe() { return std::make_unique<LuksProbe>(); }
std::unique_ptr<Probe> NewPartitionTableProbe() { return std::make_unique<PartitionTableProbe>(); }

}  // namespace glint::format
