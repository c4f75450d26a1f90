// Learned boot sets on the API's side: what a report may hold, and how reports of many
// hosts merge (every principal one vote per chunk, split among its hosts).
#include "control/boot_set.h"

#include <gtest/gtest.h>

#include <fstream>

#include "control/config.h"
#include "tests/support/test_support.h"

namespace glint::control {
namespace {

using nlohmann::json;
constexpr int64_t kChunk = 4 << 20;

catalog::BootReport Report(const std::string& reporter, const std::string& host, std::vector<int64_t> chunks) {
  return {"img", reporter, host, std::move(chunks), 1};
}

TEST(BootSetTest, ParsesAGoodReport) {
  auto r = ParseBootReport(json{{"host", "hv-1.example_A"}, {"chunk_size", kChunk}, {"chunks", {0, 3, 9}}}, kChunk,
                           10, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->host, "hv-1.example_A");
  EXPECT_EQ(r->chunks, (std::vector<int64_t>{0, 3, 9}));
  EXPECT_TRUE(ParseBootReport(json{{"host", "h"}, {"chunk_size", kChunk}, {"chunks", json::array()}}, kChunk, 0, {})
                  .ok());
}

TEST(BootSetTest, RefusesHostileReports) {
  const json good = {{"host", "h"}, {"chunk_size", kChunk}, {"chunks", {0, 1}}};
  std::vector<json> bad = {
      json::array(), json("x"), json{{"chunk_size", kChunk}, {"chunks", {0}}},                  // no host
      json{{"host", ""}, {"chunk_size", kChunk}, {"chunks", {0}}},                                // empty host
      json{{"host", std::string(65, 'a')}, {"chunk_size", kChunk}, {"chunks", {0}}},              // long host
      json{{"host", "a/b"}, {"chunk_size", kChunk}, {"chunks", {0}}},                             // path-like
      json{{"host", "h\n"}, {"chunk_size", kChunk}, {"chunks", {0}}},                             // control char
      json{{"host", "h"}, {"chunk_size", 1 << 20}, {"chunks", {0}}},                              // other chunk size
      json{{"host", "h"}, {"chunks", {0}}},                                                       // no chunk size
      json{{"host", "h"}, {"chunk_size", kChunk}, {"chunks", {10}}},                              // == chunk count
      json{{"host", "h"}, {"chunk_size", kChunk}, {"chunks", {-1}}},                              // negative
      json{{"host", "h"}, {"chunk_size", kChunk}, {"chunks", {1.5}}},                             // not an integer
      json{{"host", "h"}, {"chunk_size", kChunk}, {"chunks", {"1"}}},                             // a string
      json{{"host", "h"}, {"chunk_size", kChunk}, {"chunks", {3, 3}}},                            // duplicate
      json{{"host", "h"}, {"chunk_size", kChunk}, {"chunks", {4, 3}}},                            // descending
      json{{"host", "h"}, {"chunk_size", kChunk}, {"chunks", {{"a", 1}}}},                        // nested
      json{{"host", "h"}, {"chunk_size", kChunk}, {"chunks", 3}},                                 // not an array
      json{{"host", "h"}, {"chunk_size", kChunk}, {"chunks", {0}}, {"weight", 1000}},             // unknown key
      json{{"host", "h"}, {"chunk_size", kChunk}, {"chunks", {uint64_t{1} << 63}}},               // huge
  };
  ASSERT_TRUE(ParseBootReport(good, kChunk, 10, {}).ok());
  for (const auto& b : bad) {
    auto r = ParseBootReport(b, kChunk, 10, {});
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << b.dump();
  }
  BootSetPolicy small;
  small.max_report_chunks = 3;
  EXPECT_FALSE(ParseBootReport(json{{"host", "h"}, {"chunk_size", kChunk}, {"chunks", {0, 1, 2, 3}}}, kChunk, 10,
                               small)
                   .ok());
}

TEST(BootSetTest, ReporterIsTheUserElseTheProject) {
  auth::RequestContext ctx;
  EXPECT_EQ(BootReporter(ctx), "admin");
  ctx.project_id = "p";
  EXPECT_EQ(BootReporter(ctx), "project:p");
  ctx.user_id = "u";
  EXPECT_EQ(BootReporter(ctx), "user:u");
}

TEST(BootSetTest, OneReportIsTheSet) {
  auto m = MergeBootReports({Report("user:a", "h1", {0, 4, 7})}, 10, {});
  EXPECT_EQ(m.chunks, (std::vector<int64_t>{0, 4, 7}));
  EXPECT_EQ(m.reports, 1u);
  EXPECT_EQ(m.reporters, 1u);
  EXPECT_TRUE(MergeBootReports({}, 10, {}).chunks.empty());
}

TEST(BootSetTest, ChunksReadByFewHostsOfOnePrincipalAreDropped) {
  // One credential on 8 hosts (the usual hypervisor setup): chunk 0 read by all, chunk 5
  // by 2 of 8 (25%: kept), chunk 9 by 1 of 8 (dropped).
  std::vector<catalog::BootReport> rs;
  for (int h = 0; h < 8; ++h) {
    std::vector<int64_t> c{0};
    if (h < 2) c.push_back(5);
    if (h == 0) c.push_back(9);
    rs.push_back(Report("user:nova", "h" + std::to_string(h), c));
  }
  auto m = MergeBootReports(rs, 10, {});
  EXPECT_EQ(m.chunks, (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(m.reports, 8u);
  EXPECT_EQ(m.reporters, 1u);
}

TEST(BootSetTest, ManyHostsOfOnePrincipalWeighOneVote) {
  // Four honest principals read chunks 0-1; a hostile one reports chunk 7 from 50 hosts.
  // Its 50 reports are still one vote of five principals, less than a quarter: 7 stays out.
  std::vector<catalog::BootReport> rs;
  for (int p = 0; p < 4; ++p) rs.push_back(Report("user:p" + std::to_string(p), "h", {0, 1}));
  for (int h = 0; h < 50; ++h) rs.push_back(Report("user:evil", "x" + std::to_string(h), {7}));
  auto m = MergeBootReports(rs, 10, {});
  EXPECT_EQ(m.chunks, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(m.reporters, 5u);
}

TEST(BootSetTest, MergedSetIsBoundedBestVotedFirstAndIgnoresOutOfRange) {
  BootSetPolicy p;
  p.max_merged_chunks = 2;
  // Chunk 3 has two votes, 1 and 2 one each: 3 then the lower of 1 and 2. Chunk 50 is
  // beyond the image (a report kept from before cannot name it, but merge ignores it).
  auto m = MergeBootReports({Report("user:a", "h", {1, 3, 50}), Report("user:b", "h", {2, 3})}, 10, p);
  EXPECT_EQ(m.chunks, (std::vector<int64_t>{1, 3}));
}

// [glint] boot_set_* in glint-api's config file: read, defaulted, and range-checked.
Status LoadBootSetOptions(const std::string& lines, Config* config) {
  glint::testing::TempDir dir;
  const std::string path = dir.path() + "/glint-api.conf";
  std::ofstream(path) << "[glint]\n" << lines;
  return LoadConfigFile(path, config);
}

TEST(BootSetOptions, DefaultsAreTheDocumentedValues) {
  Config c;
  ASSERT_OK(LoadBootSetOptions("", &c));
  EXPECT_EQ(c.boot_sets.max_report_chunks, 4096u);
  EXPECT_EQ(c.boot_sets.max_merged_chunks, 1024u);
  EXPECT_DOUBLE_EQ(c.boot_sets.keep_fraction, 0.25);
  EXPECT_EQ(c.boot_sets.report_interval, 60);
  EXPECT_EQ(c.boot_sets.max_hosts_per_reporter, 64);
  EXPECT_EQ(c.boot_sets.max_reports_per_image, 256);
  EXPECT_OK(ValidateBootSetPolicy(BootSetPolicy{}));
}

TEST(BootSetOptions, AreReadFromTheConfigFile) {
  Config c;
  ASSERT_OK(LoadBootSetOptions("boot_set_max_report_chunks = 100\nboot_set_max_merged_chunks = 50\n"
                               "boot_set_keep_fraction = 0.5\nboot_set_report_interval = 0\n"
                               "boot_set_max_hosts_per_reporter = 8\nboot_set_max_reports_per_image = 1000\n",
                               &c));
  EXPECT_EQ(c.boot_sets.max_report_chunks, 100u);
  EXPECT_EQ(c.boot_sets.max_merged_chunks, 50u);
  EXPECT_DOUBLE_EQ(c.boot_sets.keep_fraction, 0.5);
  EXPECT_EQ(c.boot_sets.report_interval, 0);  // no rate limit
  EXPECT_EQ(c.boot_sets.max_hosts_per_reporter, 8);
  EXPECT_EQ(c.boot_sets.max_reports_per_image, 1000);
}

TEST(BootSetOptions, BadValuesStopTheStartNamingTheOption) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"boot_set_max_report_chunks = 0", "boot_set_max_report_chunks"},
      {"boot_set_max_report_chunks = -1", "boot_set_max_report_chunks"},  // no wrap to a huge count
      {"boot_set_max_report_chunks = 262145", "boot_set_max_report_chunks"},
      {"boot_set_max_report_chunks = lots", "boot_set_max_report_chunks"},
      {"boot_set_max_merged_chunks = 0", "boot_set_max_merged_chunks"},
      {"boot_set_keep_fraction = 0", "boot_set_keep_fraction"},
      {"boot_set_keep_fraction = 1.5", "boot_set_keep_fraction"},
      {"boot_set_keep_fraction = -0.25", "boot_set_keep_fraction"},
      {"boot_set_keep_fraction = nan", "boot_set_keep_fraction"},
      {"boot_set_keep_fraction = 0.25x", "boot_set_keep_fraction"},
      {"boot_set_report_interval = -1", "boot_set_report_interval"},
      {"boot_set_report_interval = 86401", "boot_set_report_interval"},
      {"boot_set_report_interval = 4294967356", "boot_set_report_interval"},  // not cut to 60
      {"boot_set_max_hosts_per_reporter = 0", "boot_set_max_hosts_per_reporter"},
      {"boot_set_max_reports_per_image = 0", "boot_set_max_reports_per_image"},
      {"boot_set_max_reports_per_image = 65537", "boot_set_max_reports_per_image"},
  };
  for (const auto& [line, option] : bad) {
    Config c;
    Status s = LoadBootSetOptions(line + "\n", &c);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << line;
    EXPECT_NE(s.message().find(option), std::string::npos) << line << ": " << s.message();
  }
  Config edge;
  EXPECT_OK(LoadBootSetOptions("boot_set_keep_fraction = 1\nboot_set_report_interval = 86400\n"
                               "boot_set_max_report_chunks = 262144\n", &edge));
}

}  // namespace
}  // namespace glint::control
