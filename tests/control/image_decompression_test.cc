// image_decompression: Glance's magic numbers, and decompression with the real gzip and
// bsdtar (archives made by python3's zipfile and gzip modules and a hand-made lha header):
// the one-member rule, the output cap (a small bomb) and the cleanup on failure.
#include "control/image_decompression.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "common/child_process.h"
#include "tests/support/test_support.h"

namespace glint::control {
namespace {

using glint::testing::TempDir;

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void Python(const std::string& code) {
  ChildLimits limits;
  limits.wall_time = std::chrono::seconds(60);
  auto r = RunChild({"python3", "-c", code}, limits);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->Succeeded()) << r->err;
}

// CRC-16/ARC, the checksum lha keeps of each member.
uint16_t Crc16(const std::string& data) {
  uint16_t crc = 0;
  for (unsigned char b : data) {
    crc ^= b;
    for (int i = 0; i < 8; ++i) crc = (crc & 1) ? (crc >> 1) ^ 0xA001 : crc >> 1;
  }
  return crc;
}

// An lha archive of level 0 holding `data` stored (-lh0-), as LHA writes it.
std::string Lha(const std::string& name, const std::string& data) {
  std::string h = "-lh0-";
  auto le32 = [](uint32_t v) { return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; };
  h += le32(data.size()) + le32(data.size()) + le32(0) + std::string{0x20, 0x00};
  const uint16_t crc = Crc16(data);
  h += char(name.size()) + name + std::string{char(crc & 0xff), char(crc >> 8)};
  std::string out = std::string{char(h.size()), 0} + h + data + std::string(1, '\0');
  unsigned sum = 0;
  for (size_t i = 2; i < 2 + h.size(); ++i) sum += static_cast<unsigned char>(out[i]);
  out[1] = static_cast<char>(sum & 0xff);
  return out;
}

TEST(ImageDecompression, DetectsGlancesMagicNumbers) {
  EXPECT_EQ(DetectCompression(std::string("PK\x03\x04rest", 8)), Compression::kZip);
  EXPECT_EQ(DetectCompression(std::string("\x1f\x8b\x08\x00", 4)), Compression::kGzip);
  EXPECT_EQ(DetectCompression("xy-lh5-"), Compression::kLha);
  EXPECT_EQ(DetectCompression(std::string("\x1f\x8b\x07", 3)), Compression::kNone);  // not deflate
  EXPECT_EQ(DetectCompression("QFI\xfb"), Compression::kNone);
  EXPECT_EQ(DetectCompression("PK"), Compression::kNone);
  EXPECT_EQ(DetectCompression(""), Compression::kNone);
  EXPECT_STREQ(CompressionName(Compression::kLha), "lha");
}

TEST(ImageDecompression, GzipZipAndLhaAreDecompressed) {
  TempDir dir;
  const std::string data(300000, 'x'), src = dir.path() + "/src", dest = dir.path() + "/out";
  std::ofstream(dir.path() + "/plain", std::ios::binary) << data;
  DecompressionConfig config;
  Python("import gzip,shutil; shutil.copyfileobj(open('" + dir.path() + "/plain','rb'), gzip.open('" + src +
         "','wb'))");
  auto r = DecompressStaged(config, src, dest, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, Compression::kGzip);
  EXPECT_EQ(Slurp(dest), data);
  Python("import zipfile; z = zipfile.ZipFile('" + src + "','w',zipfile.ZIP_DEFLATED); z.write('" + dir.path() +
         "/plain','disk.img'); z.close()");
  r = DecompressStaged(config, src, dest, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, Compression::kZip);
  EXPECT_EQ(Slurp(dest), data);
  std::ofstream(src, std::ios::binary | std::ios::trunc) << Lha("disk.img", "lha data");
  r = DecompressStaged(config, src, dest, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, Compression::kLha);
  EXPECT_EQ(Slurp(dest), "lha data");
  // Plain data is left alone: nothing written.
  std::filesystem::remove(dest);
  r = DecompressStaged(config, dir.path() + "/plain", dest, 1 << 20);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Compression::kNone);
  EXPECT_FALSE(std::filesystem::exists(dest));
}

TEST(ImageDecompression, ArchivesMustHoldOneFile) {
  TempDir dir;
  const std::string src = dir.path() + "/src", dest = dir.path() + "/out";
  Python("import zipfile; z = zipfile.ZipFile('" + src +
         "','w'); z.writestr('a','1'); z.writestr('b','2'); z.close()");
  auto r = DecompressStaged({}, src, dest, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("more than one file"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dest));
}

TEST(ImageDecompression, ABombStopsAtTheCapAndLeavesNothing) {
  TempDir dir;
  const std::string src = dir.path() + "/src", dest = dir.path() + "/out";
  // 64 MiB of zeros compress to ~64 KiB; the cap is 1 MiB.
  Python("import gzip; f = gzip.open('" + src + "','wb')\nfor _ in range(64): f.write(bytes(1 << 20))\nf.close()");
  auto r = DecompressStaged({}, src, dest, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kTooLarge);
  EXPECT_NE(r.status().message().find("too large"), std::string::npos) << r.status().message();
  EXPECT_FALSE(std::filesystem::exists(dest));
  // A corrupt stream is a failure of the decompressor, not a crash.
  std::ofstream(src, std::ios::binary | std::ios::trunc) << std::string("\x1f\x8b\x08\x00garbage", 11);
  r = DecompressStaged({}, src, dest, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInternal);
  EXPECT_NE(r.status().message().find("gzip"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dest));
}

TEST(ImageDecompression, TheCapLeavesTheDiskItsReserve) {
  TempDir dir;
  EXPECT_EQ(DecompressionCap(dir.path() + "/x", 1000), 1000);
  const int64_t huge = int64_t{1} << 62;
  EXPECT_LT(DecompressionCap(dir.path() + "/x", huge), huge);  // no disk is that free
}

}  // namespace
}  // namespace glint::control
