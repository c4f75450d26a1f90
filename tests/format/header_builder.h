// Hand-crafted image headers for the format inspector's tests: each builder returns the
// first bytes of a valid image of its format, which tests then corrupt field by field.
#pragma once

#include <cstdint>
#include <string>

namespace glint::format::testing {

inline void PutBe(std::string& s, size_t off, uint64_t v, int width) {
  if (s.size() < off + width) s.resize(off + width, '\0');
  for (int i = width - 1; i >= 0; --i, v >>= 8) s[off + i] = static_cast<char>(v & 0xff);
}
inline void PutLe(std::string& s, size_t off, uint64_t v, int width) {
  if (s.size() < off + width) s.resize(off + width, '\0');
  for (int i = 0; i < width; ++i, v >>= 8) s[off + i] = static_cast<char>(v & 0xff);
}

// A qcow2 v3 header (64 KiB clusters) of `virtual_size`, padded to `total` bytes.
inline std::string Qcow2(uint64_t virtual_size, size_t total = 4096, int version = 3) {
  std::string s(total, '\0');
  s.replace(0, 4, "QFI\xfb");
  PutBe(s, 4, version, 4);
  PutBe(s, 20, 16, 4);  // cluster_bits
  PutBe(s, 24, virtual_size, 8);
  PutBe(s, 36, 1, 4);  // l1_size
  PutBe(s, 40, 0x30000, 8);
  PutBe(s, 48, 0x10000, 8);
  PutBe(s, 56, 1, 4);
  if (version == 3) {
    PutBe(s, 96, 4, 4);
    PutBe(s, 100, 112, 4);
  }
  return s;
}

// A monolithicSparse vmdk header and descriptor.
inline std::string Vmdk(uint64_t sectors, const std::string& descriptor, size_t total = 16384) {
  std::string s(total, '\0');
  s.replace(0, 4, "KDMV");
  PutLe(s, 4, 1, 4);
  PutLe(s, 12, sectors, 8);
  PutLe(s, 20, 128, 8);
  PutLe(s, 28, 1, 8);
  PutLe(s, 36, 20, 8);
  PutLe(s, 56, 21, 8);
  s.replace(512, descriptor.size(), descriptor);
  return s;
}

inline std::string VmdkDescriptor(const std::string& create_type, const std::string& extent) {
  return "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType=\"" + create_type +
         "\"\n\n# Extent description\n" + extent + "\n\nddb.adapterType = \"ide\"\n";
}

// A 512-byte vhd footer of `type` (2 fixed, 3 dynamic, 4 differencing).
inline std::string VhdFooter(uint64_t size, uint32_t type) {
  std::string s(512, '\0');
  s.replace(0, 8, "conectix");
  PutBe(s, 16, type == 2 ? ~uint64_t{0} : 512, 8);
  PutBe(s, 40, size, 8);
  PutBe(s, 48, size, 8);
  PutBe(s, 60, type, 4);
  return s;
}

inline std::string Vdi(uint64_t size, uint32_t type = 1) {
  std::string s(512, '\0');
  s.replace(0, 40, "<<< Oracle VM VirtualBox Disk Image >>>\n");
  PutLe(s, 64, 0xbeda107f, 4);
  PutLe(s, 68, 0x00010001, 4);
  PutLe(s, 72, 400, 4);
  PutLe(s, 76, type, 4);
  PutLe(s, 340, 512, 4);
  PutLe(s, 344, 1024, 4);
  PutLe(s, 368, size, 8);
  PutLe(s, 376, 1 << 20, 4);
  PutLe(s, 384, (size + (1 << 20) - 1) >> 20, 4);
  return s;
}

// An ISO: 32 KiB system area (given), then a primary volume descriptor.
inline std::string Iso(const std::string& system_area = "", size_t total = 36864) {
  std::string s(total, '\0');
  s.replace(0, system_area.size(), system_area);
  s[32768] = 1;
  s.replace(32769, 5, "CD001");
  s[32774] = 1;
  return s;
}

}  // namespace glint::format::testing
