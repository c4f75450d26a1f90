// qcow2 (versions 2 and 3): the header, its sanity, and its header extensions. Refused:
// a backing file (by offset, size or backing-format extension), an external data file
// (incompatible bit 2 or the data-file extension), a corrupt mark, unknown incompatible
// features, and sizes or offsets qemu itself would call impossible.
#include <string>

#include "format/probes.h"

namespace glint::format {
namespace {

constexpr uint32_t kExtEnd = 0, kExtBackingFormat = 0xe2792aca, kExtDataFile = 0x44415441;
constexpr uint64_t kKnownIncompatible = 0x1f;  // dirty, corrupt, data file, compression, extended L2
constexpr uint64_t kMaxVirtualSize = uint64_t{1} << 60;

class Qcow2Probe final : public Probe {
 public:
  std::optional<Finding> Finish(const Regions& regions, const std::string&, int64_t) const override {
    const std::string& h = Head(regions);
    if (h.size() < 4 || h.compare(0, 4, "QFI\xfb") != 0) return std::nullopt;
    Finding f;
    f.format = "qcow2";
    if (h.size() < 72) {
      f.problems.push_back("qcow2 header is truncated");
      return f;
    }
    const uint32_t version = Be(h, 4, 4);
    f.subformat = "v" + std::to_string(version);
    if (version != 2 && version != 3) {
      f.problems.push_back("qcow2 version " + std::to_string(version) + " is not supported");
      return f;
    }
    CheckBacking(h, &f);
    const uint32_t cluster_bits = Be(h, 20, 4);
    if (cluster_bits < 9 || cluster_bits > 21) {
      f.problems.push_back("qcow2 cluster_bits " + std::to_string(cluster_bits) + " is impossible");
      return f;
    }
    const uint64_t cluster = uint64_t{1} << cluster_bits;
    const uint64_t size = Be(h, 24, 8);
    if (size > kMaxVirtualSize) {
      f.problems.push_back("qcow2 virtual size " + std::to_string(size) + " is impossible");
    } else {
      f.virtual_size = static_cast<int64_t>(size);
    }
    CheckTables(h, cluster, &f);
    uint64_t header_length = 72;
    if (version == 3) {
      if (h.size() < 104) {
        f.problems.push_back("qcow2 v3 header is truncated");
        return f;
      }
      CheckFeatures(h, &f);
      header_length = Be(h, 100, 4);
      if (header_length < 104 || header_length % 8 != 0 || header_length > cluster) {
        f.problems.push_back("qcow2 header length " + std::to_string(header_length) + " is impossible");
        return f;
      }
      if (Be(h, 96, 4) > 6) f.problems.push_back("qcow2 refcount order is impossible");
    }
    CheckExtensions(h, header_length, cluster, &f);
    return f;
  }

 private:
  static void CheckBacking(const std::string& h, Finding* f) {
    const uint64_t offset = Be(h, 8, 8);
    const uint32_t length = Be(h, 16, 4);
    if (offset == 0 && length == 0) return;
    std::string name;
    if (offset < h.size() && length <= 1023) name = " " + Quote(h.substr(offset, length));
    f->problems.push_back("qcow2 image has a backing file" + name);
  }

  static void CheckTables(const std::string& h, uint64_t cluster, Finding* f) {
    const uint32_t crypt = Be(h, 32, 4);
    const uint32_t l1_size = Be(h, 36, 4);
    const uint64_t l1_offset = Be(h, 40, 8);
    const uint64_t refcount_offset = Be(h, 48, 8);
    const uint32_t refcount_clusters = Be(h, 56, 4);
    const uint32_t snapshots = Be(h, 60, 4);
    const uint64_t snapshots_offset = Be(h, 64, 8);
    if (crypt > 2) f->problems.push_back("qcow2 encryption method " + std::to_string(crypt) + " is impossible");
    if (l1_size > (32u << 20) / 8 || l1_offset % cluster != 0 || (l1_size > 0 && l1_offset == 0)) {
      f->problems.push_back("qcow2 L1 table size or offset is impossible");
    }
    if (refcount_offset == 0 || refcount_offset % cluster != 0 || refcount_clusters == 0 ||
        uint64_t{refcount_clusters} * cluster > (8u << 20)) {
      f->problems.push_back("qcow2 refcount table size or offset is impossible");
    }
    if (snapshots > 65536 || (snapshots > 0 && (snapshots_offset == 0 || snapshots_offset % cluster != 0))) {
      f->problems.push_back("qcow2 snapshot table size or offset is impossible");
    }
  }

  static void CheckFeatures(const std::string& h, Finding* f) {
    const uint64_t incompatible = Be(h, 72, 8);
    if (incompatible & 0x4) f->problems.push_back("qcow2 image has an external data file");
    if (incompatible & 0x2) f->problems.push_back("qcow2 image is marked corrupt");
    if (incompatible & ~kKnownIncompatible) {
      f->problems.push_back("qcow2 image has unknown incompatible features");
    }
  }

  // Header extensions follow the header, within the first cluster: (type, length, data
  // padded to 8 bytes)..., ended by type 0.
  static void CheckExtensions(const std::string& h, uint64_t offset, uint64_t cluster, Finding* f) {
    for (int n = 0; n < 1024; ++n) {
      if (offset + 8 > cluster) {
        f->problems.push_back("qcow2 header extensions run past the first cluster");
        return;
      }
      if (offset + 8 > h.size()) {
        f->problems.push_back("qcow2 header extensions are truncated or lie beyond the first 64 KiB");
        return;
      }
      const uint32_t type = Be(h, offset, 4);
      const uint64_t length = Be(h, offset + 4, 4);
      if (type == kExtEnd) return;
      if (type == kExtBackingFormat) f->problems.push_back("qcow2 image has a backing file format (a backing file)");
      if (type == kExtDataFile) {
        std::string name = offset + 8 + length <= h.size() ? " " + Quote(h.substr(offset + 8, length)) : "";
        f->problems.push_back("qcow2 image has an external data file" + name);
      }
      offset += 8 + ((length + 7) / 8) * 8;
    }
    f->problems.push_back("qcow2 has too many header extensions");
  }
};

}  // namespace

std::unique_ptr<Probe> NewQcow2Probe() { return std::make_unique<Qcow2Probe>(); }

}  // namespace glint::format
