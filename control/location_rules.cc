#include "control/location_rules.h"

#include <map>

namespace glint::control {

using nlohmann::json;

namespace {

Status BadLocation(const std::string& why) {
  return Status::InvalidArgument("Provided object does not match schema 'locations': " + why);
}

bool IsHex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos && s.size() % 2 == 0;
}

Status CheckValidationData(const json& vd) {
  if (!vd.is_object()) return BadLocation("validation_data is not an object");
  static const std::map<std::string, size_t> kMax = {{"checksum", 32}, {"os_hash_algo", 64}, {"os_hash_value", 128}};
  for (const auto& [k, v] : vd.items()) {
    auto it = kMax.find(k);
    if (it == kMax.end()) return BadLocation("additional property '" + k + "' in validation_data");
    if (!v.is_string()) return BadLocation("validation_data." + k + " is not a string");
    size_t n = v.get<std::string>().size();
    if (n > it->second) return BadLocation("validation_data." + k + " is too long");
    if (k == "checksum" && n != 32) return BadLocation("validation_data.checksum must have 32 characters");
  }
  for (const char* required : {"os_hash_algo", "os_hash_value"}) {
    if (!vd.contains(required)) return BadLocation(std::string("'") + required + "' is a required property");
  }
  return Status::Ok();
}

std::optional<std::string> CurrentValue(const catalog::ImageRecord& img, const std::string& key) {
  if (key == "checksum") return img.checksum;
  if (key == "os_hash_algo") return img.os_hash_algo;
  return img.os_hash_value;
}

// The new values' digests are well formed: an md5, and a sha512 (Glint's hashing algorithm).
Status CheckDigests(const std::map<std::string, std::string>& fresh) {
  if (auto c = fresh.find("checksum"); c != fresh.end() && (!IsHex(c->second) || c->second.size() != 32)) {
    return Status::Conflict("checksum (" + c->second + ") is not a valid md5 hexadecimal value");
  }
  auto algo = fresh.find("os_hash_algo");
  std::string got = algo == fresh.end() ? "None" : algo->second;
  if (got != "sha512") return Status::Conflict("os_hash_algo must be sha512, not " + got);
  auto value = fresh.find("os_hash_value");
  if (value == fresh.end() || !IsHex(value->second) || value->second.size() != 128) {
    return Status::Conflict("os_hash_value (" + (value == fresh.end() ? std::string() : value->second) +
                            ") is not a valid sha512 hexadecimal value (64 bytes)");
  }
  return Status::Ok();
}

}  // namespace

Status CheckLocationSchema(const json& v, bool metadata_optional) {
  if (!v.is_object()) return BadLocation("a location is an object");
  if (!v.contains("url") || !v["url"].is_string()) return BadLocation("'url' is a required string");
  if (v["url"].get<std::string>().size() > 255) return BadLocation("url is longer than 255 characters");
  if (v.contains("metadata") ? !v["metadata"].is_object() : !metadata_optional) {
    return BadLocation("'metadata' is a required object");
  }
  if (v.contains("validation_data")) return CheckValidationData(v["validation_data"]);
  return Status::Ok();
}

Result<ValidationFacts> MergeValidationData(const catalog::ImageRecord& img, const std::vector<json>& locations) {
  std::map<std::string, std::string> given;
  for (const auto& loc : locations) {
    if (!loc.contains("validation_data")) continue;
    for (const auto& [k, v] : loc["validation_data"].items()) {
      std::string s = v.get<std::string>();
      auto [it, inserted] = given.emplace(k, s);
      if (!inserted && it->second != s) return Status::Conflict("Conflicting values for " + k);
    }
  }
  std::map<std::string, std::string> fresh;
  for (const auto& [k, v] : given) {
    auto current = CurrentValue(img, k);
    if (current == v) continue;
    if (current) return Status::Conflict(k + " is already set with a different value");
    fresh[k] = v;
  }
  ValidationFacts facts;
  if (fresh.empty()) return facts;
  if (img.status != catalog::kQueued) {
    return Status::Conflict("New value(s) for validation data may only be provided when image status is 'queued'");
  }
  GLINT_RETURN_IF_ERROR(CheckDigests(fresh));
  if (fresh.count("checksum")) facts.checksum = fresh["checksum"];
  facts.os_hash_algo = fresh["os_hash_algo"];
  facts.os_hash_value = fresh["os_hash_value"];
  return facts;
}

}  // namespace glint::control
