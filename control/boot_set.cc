#include "control/boot_set.h"

#include <algorithm>
#include <map>
#include <optional>

namespace glint::control {

using nlohmann::json;

namespace {

bool HostIdOk(const std::string& host, size_t max_length) {
  if (host.empty() || host.size() > max_length) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

// A JSON integer that is not negative (parsed text gives unsigned numbers, built JSON
// signed ones); nullopt for anything else.
std::optional<uint64_t> NonNegative(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  return std::nullopt;
}

}  // namespace

Result<catalog::BootReport> ParseBootReport(const json& body, int64_t chunk_size, int64_t chunk_count,
                                            const BootSetPolicy& policy) {
  auto bad = [](const std::string& why) { return Status::InvalidArgument("Invalid boot set report: " + why); };
  if (!body.is_object()) return bad("the body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    if (key != "host" && key != "chunk_size" && key != "chunks") return bad("unknown key '" + key + "'");
  }
  catalog::BootReport r;
  auto host = body.find("host");
  if (host == body.end() || !host->is_string() || !HostIdOk(host->get<std::string>(), policy.max_host_length)) {
    return bad("'host' must be 1 to " + std::to_string(policy.max_host_length) +
               " characters of letters, digits, '.', '_' and '-'");
  }
  r.host = host->get<std::string>();
  auto size = body.find("chunk_size");
  if (size == body.end() || NonNegative(*size) != static_cast<uint64_t>(chunk_size)) {
    return bad("'chunk_size' must be " + std::to_string(chunk_size));
  }
  auto chunks = body.find("chunks");
  if (chunks == body.end() || !chunks->is_array()) return bad("'chunks' must be an array of chunk indexes");
  if (chunks->size() > policy.max_report_chunks) {
    return bad("more than " + std::to_string(policy.max_report_chunks) + " chunks");
  }
  r.chunks.reserve(chunks->size());
  for (const auto& c : *chunks) {
    const auto index = NonNegative(c);
    if (!index || *index >= static_cast<uint64_t>(chunk_count)) {
      return bad("chunk indexes must be integers from 0 to " + std::to_string(chunk_count - 1));
    }
    if (!r.chunks.empty() && static_cast<int64_t>(*index) <= r.chunks.back()) {
      return bad("chunk indexes must be strictly ascending");
    }
    r.chunks.push_back(static_cast<int64_t>(*index));
  }
  return r;
}

Status ValidateBootSetPolicy(const BootSetPolicy& p) {
  auto out_of = [](const std::string& option, const std::string& range, const std::string& value) {
    return Status::InvalidArgument("[glint] " + option + " must be " + range + ", not " + value);
  };
  constexpr size_t kMaxChunks = 262144;  // 1 TiB of 4 MiB chunks
  if (p.max_report_chunks < 1 || p.max_report_chunks > kMaxChunks) {
    return out_of("boot_set_max_report_chunks", "1 to 262144", std::to_string(p.max_report_chunks));
  }
  if (p.max_merged_chunks < 1 || p.max_merged_chunks > kMaxChunks) {
    return out_of("boot_set_max_merged_chunks", "1 to 262144", std::to_string(p.max_merged_chunks));
  }
  if (!(p.keep_fraction > 0 && p.keep_fraction <= 1)) {  // NaN fails too
    return out_of("boot_set_keep_fraction", "more than 0 and at most 1", std::to_string(p.keep_fraction));
  }
  if (p.report_interval < 0 || p.report_interval > 86400) {
    return out_of("boot_set_report_interval", "0 to 86400 (seconds)", std::to_string(p.report_interval));
  }
  if (p.max_hosts_per_reporter < 1 || p.max_hosts_per_reporter > 65536) {
    return out_of("boot_set_max_hosts_per_reporter", "1 to 65536", std::to_string(p.max_hosts_per_reporter));
  }
  if (p.max_reports_per_image < 1 || p.max_reports_per_image > 65536) {
    return out_of("boot_set_max_reports_per_image", "1 to 65536", std::to_string(p.max_reports_per_image));
  }
  return Status::Ok();
}

std::string BootReporter(const auth::RequestContext& ctx) {
  if (ctx.user_id && !ctx.user_id->empty()) return "user:" + *ctx.user_id;
  if (ctx.project_id && !ctx.project_id->empty()) return "project:" + *ctx.project_id;
  return "admin";
}

MergedBootSet MergeBootReports(const std::vector<catalog::BootReport>& reports, int64_t chunk_count,
                               const BootSetPolicy& policy) {
  MergedBootSet out;
  std::map<std::string, size_t> hosts_of;  // reporter -> its reports
  for (const auto& r : reports) ++hosts_of[r.reporter];
  std::map<int64_t, double> votes;
  for (const auto& r : reports) {
    const double weight = 1.0 / static_cast<double>(hosts_of[r.reporter]);
    for (int64_t c : r.chunks) {
      if (c >= 0 && c < chunk_count) votes[c] += weight;
    }
  }
  out.reports = reports.size();
  out.reporters = hosts_of.size();
  const double needed = policy.keep_fraction * static_cast<double>(out.reporters) - 1e-9;
  std::vector<std::pair<double, int64_t>> kept;
  for (const auto& [chunk, v] : votes) {
    if (v >= needed) kept.emplace_back(v, chunk);
  }
  // The best-voted first (then the lower index: boots read from the front).
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  if (kept.size() > policy.max_merged_chunks) kept.resize(policy.max_merged_chunks);
  for (const auto& k : kept) out.chunks.push_back(k.second);
  std::sort(out.chunks.begin(), out.chunks.end());
  return out;
}

}  // namespace glint::control
