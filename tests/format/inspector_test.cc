// The format inspector and its verdict on hand-crafted headers: every format's
// recognition, virtual size and refusals, impossible offsets, truncated data, and the
// same answers whatever the chunking of the stream (split at every byte boundary).
#include <gtest/gtest.h>

#include "format/inspector.h"
#include "format/verdict.h"
#include "tests/format/header_builder.h"

namespace glint::format {
namespace {

using namespace glint::format::testing;

Report Inspect(const std::string& data) {
  Inspector in;
  in.Feed(data.data(), data.size());
  return in.Finish();
}

Result<Verdict> JudgeAs(const std::string& data, const std::string& disk_format, Policy policy = {},
                        const std::string& container = "bare") {
  return Judge(Inspect(data), policy, Declared{disk_format, container});
}

// The refusal's message, "" when accepted.
std::string Refusal(const std::string& data, const std::string& disk_format, Policy policy = {},
                    const std::string& container = "bare") {
  auto v = JudgeAs(data, disk_format, policy, container);
  return v.ok() ? "" : v.status().message();
}

std::string Describe(const Report& r) {
  std::string out = std::to_string(r.data_size);
  for (const auto& f : r.findings) {
    out += "|" + f.format + "/" + f.subformat + "/" + (f.virtual_size ? std::to_string(*f.virtual_size) : "-");
    for (const auto& p : f.problems) out += "/" + p;
  }
  return out;
}

TEST(FormatInspector, Qcow2VirtualSizeAndVersions) {
  auto v = JudgeAs(Qcow2(1 << 30), "qcow2");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->detected, "qcow2");
  EXPECT_EQ(v->virtual_size, int64_t{1} << 30);
  EXPECT_EQ(v->Summary(), "passed: qcow2");
  EXPECT_EQ(Refusal(Qcow2(1 << 20, 4096, 2), "qcow2"), "");
  std::string v4 = Qcow2(1 << 20);
  PutBe(v4, 4, 4, 4);
  EXPECT_NE(Refusal(v4, "qcow2").find("qcow2 version 4 is not supported"), std::string::npos);
}

TEST(FormatInspector, Qcow2BackingFileRefused) {
  std::string q = Qcow2(1 << 20);
  q.replace(512, 11, "/etc/passwd");
  PutBe(q, 8, 512, 8);
  PutBe(q, 16, 11, 4);
  EXPECT_EQ(Refusal(q, "qcow2"), "Image format check failed: qcow2 image has a backing file \"/etc/passwd\"");
  std::string size_only = Qcow2(1 << 20);
  PutBe(size_only, 16, 4, 4);
  EXPECT_NE(Refusal(size_only, "qcow2").find("backing file"), std::string::npos);
  std::string ext = Qcow2(1 << 20);
  PutBe(ext, 112, 0xe2792aca, 4);
  PutBe(ext, 116, 5, 4);
  ext.replace(120, 5, "qcow2");
  EXPECT_NE(Refusal(ext, "qcow2").find("backing file"), std::string::npos);
}

TEST(FormatInspector, Qcow2DataFileRefused) {
  std::string bit = Qcow2(1 << 20);
  PutBe(bit, 72, 0x4, 8);
  EXPECT_NE(Refusal(bit, "qcow2").find("qcow2 image has an external data file"), std::string::npos);
  std::string ext = Qcow2(1 << 20);
  PutBe(ext, 112, 0x44415441, 4);
  PutBe(ext, 116, 9, 4);
  ext.replace(120, 9, "/dev/sda1");
  EXPECT_NE(Refusal(ext, "qcow2").find("external data file \"/dev/sda1\""), std::string::npos);
  std::string unknown = Qcow2(1 << 20);
  PutBe(unknown, 72, 0x100, 8);
  EXPECT_NE(Refusal(unknown, "qcow2").find("unknown incompatible features"), std::string::npos);
}

TEST(FormatInspector, Qcow2ImpossibleHeadersRefused) {
  auto with = [](size_t off, uint64_t v, int width) {
    std::string q = Qcow2(1 << 20);
    PutBe(q, off, v, width);
    return Refusal(q, "qcow2");
  };
  EXPECT_NE(with(20, 40, 4).find("cluster_bits 40 is impossible"), std::string::npos);
  EXPECT_NE(with(24, ~uint64_t{0}, 8).find("virtual size"), std::string::npos);
  EXPECT_NE(with(40, 0x30001, 8).find("L1 table"), std::string::npos);
  EXPECT_NE(with(36, 1u << 30, 4).find("L1 table"), std::string::npos);
  EXPECT_NE(with(48, 0, 8).find("refcount table"), std::string::npos);
  EXPECT_NE(with(56, 1u << 20, 4).find("refcount table"), std::string::npos);
  EXPECT_NE(with(60, 1u << 20, 4).find("snapshot table"), std::string::npos);
  EXPECT_NE(with(100, 7, 4).find("header length"), std::string::npos);
  EXPECT_NE(with(100, 1u << 20, 4).find("header length"), std::string::npos);
  EXPECT_NE(with(32, 9, 4).find("encryption method"), std::string::npos);
  // An extension whose length runs it past the first cluster.
  std::string long_ext = Qcow2(1 << 20);
  PutBe(long_ext, 112, 0x12345678, 4);
  PutBe(long_ext, 116, 0xfffffff0u, 4);
  EXPECT_NE(Refusal(long_ext, "qcow2").find("past the first cluster"), std::string::npos);
}

TEST(FormatInspector, TruncatedHeadersRefused) {
  EXPECT_NE(Refusal(Qcow2(1 << 20).substr(0, 50), "qcow2").find("qcow2 header is truncated"), std::string::npos);
  EXPECT_NE(Refusal(Qcow2(1 << 20).substr(0, 90), "qcow2").find("truncated"), std::string::npos);
  // The extension list ends where the data does.
  EXPECT_NE(Refusal(Qcow2(1 << 20).substr(0, 116), "qcow2").find("truncated"), std::string::npos);
  std::string vmdk = Vmdk(2048, VmdkDescriptor("monolithicSparse", "RW 2048 SPARSE \"a.vmdk\""));
  EXPECT_NE(Refusal(vmdk.substr(0, 300), "vmdk").find("vmdk header is truncated"), std::string::npos);
  EXPECT_NE(Refusal(vmdk.substr(0, 2000), "vmdk").find("vmdk descriptor is truncated"), std::string::npos);
  EXPECT_NE(Refusal(Vdi(1 << 20).substr(0, 100), "vdi").find("vdi header is truncated"), std::string::npos);
  EXPECT_NE(Refusal(VhdFooter(1 << 20, 3).substr(0, 100), "vhd").find("vhd footer is truncated"), std::string::npos);
}

TEST(FormatInspector, VmdkSparseAccepted) {
  auto v = JudgeAs(Vmdk(2048, VmdkDescriptor("monolithicSparse", "RW 2048 SPARSE \"a.vmdk\"")), "vmdk");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->virtual_size, 2048 * 512);
  EXPECT_EQ(Refusal(Vmdk(2048, VmdkDescriptor("streamOptimized", "RW 2048 SPARSE \"s.vmdk\"")), "vmdk"), "");
}

TEST(FormatInspector, VmdkRefusals) {
  auto sparse = [](const std::string& type, const std::string& extent) {
    return Refusal(Vmdk(2048, VmdkDescriptor(type, extent)), "vmdk");
  };
  EXPECT_NE(sparse("twoGbMaxExtentSparse", "RW 2048 SPARSE \"a.vmdk\"").find("create type \"twoGbMaxExtentSparse\" is not allowed"),
            std::string::npos);
  EXPECT_NE(sparse("monolithicSparse", "RW 2048 SPARSE \"/etc/shadow\"").find("outside the image"), std::string::npos);
  EXPECT_NE(sparse("monolithicSparse", "RW 2048 FLAT \"a-flat.vmdk\" 0").find("is not part of the image"),
            std::string::npos);
  EXPECT_NE(sparse("monolithicSparse", "RW 1024 SPARSE \"a.vmdk\"\nRW 1024 SPARSE \"b.vmdk\"").find("2 extents"),
            std::string::npos);
  EXPECT_NE(sparse("monolithicSparse", "RW 2048 SPARSE \"a.vmdk\"\nbogus line here").find("unsupported line"),
            std::string::npos);
  EXPECT_NE(sparse("monolithicSparse", "RW 2048 SPARSE \"a.vmdk\"\nparentFileNameHint=\"base.vmdk\"").find("has a parent"),
            std::string::npos);
  // Nothing allowed: every vmdk refused.
  Policy none;
  none.vmdk_allowed_types.clear();
  EXPECT_NE(Refusal(Vmdk(2048, VmdkDescriptor("monolithicSparse", "RW 2048 SPARSE \"a.vmdk\"")), "vmdk", none)
                .find("vmdk_allowed_types: none"),
            std::string::npos);
  std::string descriptor_file = VmdkDescriptor("monolithicFlat", "RW 2048 FLAT \"/etc/passwd\" 0");
  EXPECT_NE(Refusal(descriptor_file, "vmdk").find("vmdk descriptor file"), std::string::npos);
}

TEST(FormatInspector, VmdkImpossibleHeaders) {
  auto with = [](size_t off, uint64_t v) {
    std::string s = Vmdk(2048, VmdkDescriptor("monolithicSparse", "RW 2048 SPARSE \"a.vmdk\""));
    PutLe(s, off, v, 8);
    return Refusal(s, "vmdk");
  };
  EXPECT_NE(with(12, 0).find("no capacity"), std::string::npos);
  EXPECT_NE(with(12, ~uint64_t{0} >> 1).find("capacity is impossible"), std::string::npos);
  EXPECT_NE(with(20, 3).find("grain size"), std::string::npos);
  EXPECT_NE(with(28, 1000).find("descriptor location is impossible"), std::string::npos);
  EXPECT_NE(with(36, 1 << 20).find("descriptor location is impossible"), std::string::npos);
  EXPECT_NE(with(56, ~uint64_t{0}).find("footer"), std::string::npos);
}

TEST(FormatInspector, VhdDynamicFixedAndDifferencing) {
  std::string dynamic = VhdFooter(1 << 30, 3) + std::string(2048, '\0') + VhdFooter(1 << 30, 3);
  auto v = JudgeAs(dynamic, "vhd");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->virtual_size, 1 << 30);
  // A fixed disk has its footer only at the end.
  std::string fixed = std::string(1 << 16, '\0') + VhdFooter(1 << 16, 2);
  v = JudgeAs(fixed, "vhd");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->virtual_size, 1 << 16);
  EXPECT_NE(Refusal(fixed, "raw").find("the data is a vhd image, but disk_format is raw"), std::string::npos);
  EXPECT_NE(Refusal(VhdFooter(1 << 20, 4) + std::string(1024, '\0'), "vhd").find("differencing"), std::string::npos);
  EXPECT_NE(Refusal(VhdFooter(1 << 20, 9) + std::string(1024, '\0'), "vhd").find("disk type 9"), std::string::npos);
  std::string bad_offset = VhdFooter(1 << 20, 3);
  PutBe(bad_offset, 16, 1 << 30, 8);
  EXPECT_NE(Refusal(bad_offset + std::string(1024, '\0'), "vhd").find("dynamic header offset"), std::string::npos);
}

TEST(FormatInspector, VdiAndDifferencing) {
  auto v = JudgeAs(Vdi(100 << 20) + std::string(1024, '\0'), "vdi");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->virtual_size, 100 << 20);
  EXPECT_NE(Refusal(Vdi(1 << 20, 4), "vdi").find("differencing"), std::string::npos);
  std::string bad = Vdi(1 << 20);
  PutLe(bad, 376, 3, 4);
  EXPECT_NE(Refusal(bad, "vdi").find("impossible"), std::string::npos);
}

TEST(FormatInspector, IsoAndHiddenQcow2) {
  auto v = JudgeAs(Iso(), "iso");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->virtual_size, 36864);
  EXPECT_EQ(Refusal(Iso(Qcow2(1 << 20)), "iso"), "Image format check failed: the data matches several formats at once (qcow2, iso)");
  EXPECT_NE(Refusal(Iso(Qcow2(1 << 20)), "raw").find("several formats"), std::string::npos);
  EXPECT_NE(Refusal(Qcow2(1 << 20), "iso").find("the data is a qcow2 image, but disk_format is iso"), std::string::npos);
  EXPECT_NE(Refusal(Qcow2(1 << 20), "raw").find("the data is a qcow2 image, but disk_format is raw"), std::string::npos);
}

TEST(FormatInspector, PartitionTablesAreRaw) {
  std::string mbr(4096, '\0');
  mbr[510] = '\x55';
  mbr[511] = '\xaa';
  mbr[446] = '\x80';
  mbr[450] = '\x83';
  auto v = JudgeAs(mbr, "raw");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->detected, "mbr");
  EXPECT_EQ(v->virtual_size, 4096);
  std::string gpt = mbr;
  gpt[450] = '\xee';
  gpt.replace(512, 8, "EFI PART");
  v = JudgeAs(gpt, "raw");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->detected, "gpt");
  // A gpt disk inside an ISO (isohybrid) is still one format.
  EXPECT_EQ(Refusal(Iso(gpt), "iso"), "");
  std::string not_mbr = mbr;
  not_mbr[446] = '\x12';
  v = JudgeAs(not_mbr, "raw");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->detected, "raw");
}

TEST(FormatInspector, LuksRecognised) {
  std::string luks(4096, '\0');
  luks.replace(0, 6, "LUKS\xba\xbe");
  PutBe(luks, 6, 1, 2);
  PutBe(luks, 104, 4, 4);
  Report r = Inspect(luks);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].format, "luks");
  EXPECT_EQ(r.findings[0].virtual_size, 4096 - 2048);
  EXPECT_NE(Refusal(luks, "raw").find("the data is a luks image"), std::string::npos);
}

TEST(FormatInspector, UninspectedDiskFormatsMustBeRaw) {
  auto v = JudgeAs(std::string(8192, 'x'), "ami");
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->virtual_size.has_value());
  EXPECT_NE(Refusal(Qcow2(1 << 20), "aki").find("disk_format aki must be raw data"), std::string::npos);
  EXPECT_NE(Refusal(Qcow2(1 << 20), "ploop").find("must be raw data"), std::string::npos);
}

TEST(FormatInspector, PolicyAndContainers) {
  Policy lax;
  lax.require_image_format_match = false;
  EXPECT_EQ(Refusal(Qcow2(1 << 20), "raw", lax), "");
  // Safety refusals stand whatever the policy or container.
  std::string backing = Qcow2(1 << 20);
  PutBe(backing, 8, 512, 8);
  EXPECT_NE(Refusal(backing, "raw", lax).find("backing file"), std::string::npos);
  EXPECT_NE(Refusal(backing, "raw", {}, "ova").find("backing file"), std::string::npos);
  EXPECT_EQ(Refusal(Qcow2(1 << 20), "raw", {}, "ova"), "");
  // The caller knows no disk_format: only the safety refusals.
  EXPECT_TRUE(Judge(Inspect(Qcow2(1 << 20)), {}, Declared{}).ok());
  EXPECT_FALSE(Judge(Inspect(backing), {}, Declared{}).ok());
}

TEST(FormatInspector, RawDataAndEmptyData) {
  auto v = JudgeAs(std::string(100000, '\x07'), "raw");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->detected, "raw");
  EXPECT_EQ(v->virtual_size, 100000);
  v = JudgeAs("", "raw");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->virtual_size, 0);
  EXPECT_EQ(v->Summary(), "passed: empty");
  // Empty data hides nothing: accepted as any format (glanceclient uploads an empty stdin).
  v = JudgeAs("", "qcow2");
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->virtual_size.has_value());
  EXPECT_NE(Refusal(std::string(1, '\0'), "qcow2").find("the data is a raw image, but disk_format is qcow2"),
            std::string::npos);
}

std::vector<std::string> Samples() {
  std::string backing = Qcow2(1 << 20, 2048);
  PutBe(backing, 8, 512, 8);
  PutBe(backing, 16, 4, 4);
  return {Qcow2(1 << 20, 1024),
          backing,
          Vmdk(2048, VmdkDescriptor("monolithicSparse", "RW 2048 SPARSE \"a.vmdk\""), 11264),
          VhdFooter(1 << 20, 3) + std::string(512, '\0') + VhdFooter(1 << 20, 3),
          Vdi(1 << 20),
          std::string(1000, '\0') + VhdFooter(1000, 2)};
}

TEST(FormatInspector, SameAnswerAtEverySplit) {
  for (const std::string& s : Samples()) {
    const std::string whole = Describe(Inspect(s));
    for (size_t cut = 0; cut <= s.size(); ++cut) {
      Inspector in;
      in.Feed(s.data(), cut);
      in.Feed(s.data() + cut, s.size() - cut);
      ASSERT_EQ(Describe(in.Finish()), whole) << "split at " << cut;
    }
    Inspector bytewise;
    for (char c : s) bytewise.Feed(&c, 1);
    EXPECT_EQ(Describe(bytewise.Finish()), whole);
  }
}

TEST(FormatInspector, SameAnswerAtEverySplitOfAnIso) {
  const std::string s = Iso(Qcow2(1 << 20, 512));
  const std::string whole = Describe(Inspect(s));
  for (size_t cut = 32700; cut <= 32800; ++cut) {
    Inspector in;
    in.Feed(s.data(), cut);
    in.Feed(s.data() + cut, s.size() - cut);
    ASSERT_EQ(Describe(in.Finish()), whole) << "split at " << cut;
  }
}

TEST(FormatInspector, RangedReadsFindTheSame) {
  // As a location add reads: only where NextWanted points, then the tail.
  std::string fixed_vhd = std::string(1 << 20, '\x01') + VhdFooter(1 << 20, 2);
  Inspector in;
  int reads = 0;
  const int64_t size = static_cast<int64_t>(fixed_vhd.size());
  while (auto next = in.NextWanted(size)) {
    ASSERT_LT(++reads, 10);
    in.SkipTo(*next);
    size_t n = std::min<size_t>(65536, fixed_vhd.size() - *next);
    in.Feed(fixed_vhd.data() + *next, n);
  }
  EXPECT_EQ(reads, 2);  // the head, then the tail
  EXPECT_EQ(Describe(in.Finish()), Describe(Inspect(fixed_vhd)));
}

TEST(FormatInspector, VhdxRegionsLostWhenSkippedOrShort) {
  std::string head(256 * 1024, '\0');
  head.replace(0, 8, "vhdxfile");
  EXPECT_NE(Refusal(head.substr(0, 1000), "vhdx").find("vhdx metadata is missing"), std::string::npos);
  EXPECT_NE(Refusal(head, "vhdx").find("vhdx region table is invalid"), std::string::npos);
}

}  // namespace
}  // namespace glint::format
