// vhdx through its chain of regions: the region table at 192 KiB, the metadata table it
// points to, and the items that table points to, all captured while streaming.
#include <gtest/gtest.h>

#include "format/inspector.h"
#include "format/verdict.h"
#include "tests/format/header_builder.h"

namespace glint::format {
namespace {

using namespace glint::format::testing;

// GUIDs in vhdx's byte order (first three fields little-endian).
std::string Guid(uint32_t a, uint16_t b, uint16_t c, uint64_t d) {
  std::string s;
  PutLe(s, 0, a, 4);
  PutLe(s, 4, b, 2);
  PutLe(s, 6, c, 2);
  PutBe(s, 8, d, 8);
  return s;
}
const std::string kMetadataRegion = Guid(0x8B7CA206, 0x4790, 0x4B9A, 0xB8FE575F050F886EULL);
const std::string kSizeItem = Guid(0x2FA54224, 0xCD1B, 0x4876, 0xB2115DBED83BF4B8ULL);
const std::string kParamsItem = Guid(0xCAA16737, 0xFA36, 0x4D43, 0xB3B633F0AA44E76BULL);
const std::string kParentItem = Guid(0xA8D35F2D, 0xB30B, 0x454D, 0xABF7D3D84834AB0CULL);

struct VhdxSpec {
  uint64_t metadata_offset = 2 << 20;
  uint32_t size_item = 65536;
  uint32_t params_flags = 0;
  bool parent = false;
};

std::string Vhdx(uint64_t virtual_size, const VhdxSpec& spec = {}) {
  std::string s(spec.metadata_offset + (1 << 20), '\0');
  s.replace(0, 8, "vhdxfile");
  const size_t rt = 192 * 1024;
  s.replace(rt, 4, "regi");
  PutLe(s, rt + 8, 1, 4);
  s.replace(rt + 16, 16, kMetadataRegion);
  PutLe(s, rt + 32, spec.metadata_offset, 8);
  PutLe(s, rt + 40, 1 << 20, 4);
  PutLe(s, rt + 44, 1, 4);
  const size_t m = spec.metadata_offset;
  s.replace(m, 8, "metadata");
  PutLe(s, m + 10, spec.parent ? 3 : 2, 2);
  s.replace(m + 32, 16, kSizeItem);
  PutLe(s, m + 48, spec.size_item, 4);
  PutLe(s, m + 52, 8, 4);
  s.replace(m + 64, 16, kParamsItem);
  PutLe(s, m + 80, 65544, 4);
  PutLe(s, m + 84, 8, 4);
  if (spec.parent) {
    s.replace(m + 96, 16, kParentItem);
    PutLe(s, m + 112, 65552, 4);
    PutLe(s, m + 116, 8, 4);
  }
  PutLe(s, m + spec.size_item, virtual_size, 8);
  PutLe(s, m + 65544 + 4, spec.params_flags, 4);
  return s;
}

Result<Verdict> Check(const std::string& data, size_t chunk = 1 << 20) {
  Inspector in;
  for (size_t off = 0; off < data.size(); off += chunk) in.Feed(data.data() + off, std::min(chunk, data.size() - off));
  return Judge(in.Finish(), {}, Declared{"vhdx", "bare"});
}

TEST(VhdxInspector, VirtualSizeThroughTheRegionChain) {
  for (size_t chunk : {size_t{4096}, size_t{65536}, size_t{1} << 20, size_t{3} << 20, size_t{777}}) {
    auto v = Check(Vhdx(int64_t{5} << 30), chunk);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->detected, "vhdx");
    EXPECT_EQ(v->virtual_size, int64_t{5} << 30);
  }
}

TEST(VhdxInspector, DifferencingRefused) {
  VhdxSpec parent;
  parent.parent = true;
  EXPECT_NE(Check(Vhdx(1 << 30, parent)).status().message().find("parent locator"), std::string::npos);
  VhdxSpec flag;
  flag.params_flags = 2;
  EXPECT_NE(Check(Vhdx(1 << 30, flag)).status().message().find("differencing"), std::string::npos);
}

TEST(VhdxInspector, ImpossibleOffsetsRefused) {
  VhdxSpec unaligned;
  unaligned.metadata_offset = (2 << 20) + 4096;
  EXPECT_NE(Check(Vhdx(1 << 30, unaligned)).status().message().find("metadata region offset is impossible"),
            std::string::npos);
  VhdxSpec inside_table;
  inside_table.size_item = 100;  // within the table itself
  EXPECT_NE(Check(Vhdx(1 << 30, inside_table)).status().message().find("item offset is impossible"),
            std::string::npos);
  std::string huge = Vhdx(~uint64_t{0} >> 2);
  EXPECT_NE(Check(huge).status().message().find("virtual size is impossible"), std::string::npos);
}

TEST(VhdxInspector, TruncatedBeforeTheMetadataRefused) {
  std::string v = Vhdx(1 << 30);
  EXPECT_NE(Check(v.substr(0, (2 << 20) + 100)).status().message().find("metadata is missing"), std::string::npos);
}

}  // namespace
}  // namespace glint::format
