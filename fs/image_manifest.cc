#include "fs/image_manifest.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/chunk_manifest.h"

namespace glint::fs {

using nlohmann::json;

namespace {

bool IsDigest(const json& v) {
  if (!v.is_string()) return false;
  const auto& s = v.get_ref<const std::string&>();
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

Result<ImageManifest> ParseManifest(const std::string& text, const ImageEntry& image, uint64_t chunk_size) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("manifest of image " + image.id + ": " + why);
  };
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  ImageManifest m;
  m.image_id = Str(j, "image_id");
  if (m.image_id != image.id) return bad("names image '" + m.image_id + "'");
  if (!j.contains("size") || !j["size"].is_number_unsigned()) return bad("no size");
  m.size = j["size"].get<int64_t>();
  if (m.size != image.size) return bad("size " + std::to_string(m.size) + ", the image has " + std::to_string(image.size));
  if (!j.contains("chunk_size") || !j["chunk_size"].is_number_unsigned()) return bad("no chunk_size");
  m.chunk_size = j["chunk_size"].get<uint64_t>();
  if (m.chunk_size != chunk_size) return bad("chunk_size " + std::to_string(m.chunk_size) + " is not the cache's");
  if (Str(j, "algorithm") != "sha256") return bad("algorithm '" + Str(j, "algorithm") + "' is not sha256");
  m.os_hash_algo = Str(j, "os_hash_algo");
  m.os_hash_value = Str(j, "os_hash_value");
  m.binding = Str(j, "binding");
  // Bound to the image's data: a manifest of other data cannot stand in.
  auto hash = image.fields.find("os_hash_value");
  if (hash == image.fields.end() || hash->second.empty() || hash->second != m.os_hash_value) {
    return bad("os_hash_value does not match the image's");
  }
  auto algo = image.fields.find("os_hash_algo");
  if (algo != image.fields.end() && algo->second != m.os_hash_algo) return bad("os_hash_algo does not match");
  if (!j.contains("chunks") || !j["chunks"].is_array()) return bad("no chunks");
  const uint64_t want = (static_cast<uint64_t>(m.size) + chunk_size - 1) / chunk_size;
  if (j["chunks"].size() != want) {
    return bad(std::to_string(j["chunks"].size()) + " chunk digests for " + std::to_string(want) + " chunks");
  }
  m.chunks.reserve(want);
  for (const auto& c : j["chunks"]) {
    if (!IsDigest(c)) return bad("a chunk digest is not lowercase hex sha256");
    m.chunks.push_back(c.get<std::string>());
  }
  // The binding covers all of the above: one changed digest, or a header that another
  // image's digests were pasted under, does not verify.
  ChunkManifest bound{m.image_id, m.size, static_cast<int64_t>(m.chunk_size), "sha256",
                      m.os_hash_algo, m.os_hash_value, m.chunks, m.binding};
  if (!ManifestConsistent(bound)) return bad("binding does not match its contents");
  return m;
}

std::string ManifestToJson(const ImageManifest& m) {
  json j = {{"image_id", m.image_id},
            {"size", m.size},
            {"chunk_size", m.chunk_size},
            {"algorithm", "sha256"},
            {"os_hash_algo", m.os_hash_algo},
            {"os_hash_value", m.os_hash_value},
            {"binding", m.binding},
            {"chunks", m.chunks}};
  return j.dump();
}

}  // namespace glint::fs
