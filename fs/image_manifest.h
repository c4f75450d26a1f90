// ImageManifest: an image's chunk manifest, the SHA-256 of every 4 MiB chunk of its data,
// as the API serves it (`GET /v2/images/{id}/x-glint-manifest`, a Glint extension):
//
//   {"image_id", "size", "chunk_size": 4194304, "algorithm": "sha256", "os_hash_algo",
//    "os_hash_value", "binding", "chunks": ["<hex sha256>", ...]}
//
// The host cache checks every chunk entering it against the manifest. A manifest is
// accepted only for the image it names, with that image's size and os_hash_value, exactly
// one digest per chunk, and a `binding` (common/chunk_manifest.h: a SHA-256 over id,
// size, os_hash_algo/value, chunk size and every chunk digest) that matches all of them,
// so a manifest cannot be swapped under an image nor one digest changed. Pure functions;
// a ManifestSource (ImageView) blocks on HTTP.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "fs/image_view.h"

namespace glint::fs {

struct ImageManifest {
  std::string image_id;
  int64_t size = 0;
  uint64_t chunk_size = 0;
  std::string os_hash_algo, os_hash_value, binding;
  std::vector<std::string> chunks;  // lowercase hex SHA-256, one per chunk
};

// Parses `json` and checks it against `image` and the cache's `chunk_size`.
// InvalidArgument says what does not fit.
Result<ImageManifest> ParseManifest(const std::string& json, const ImageEntry& image, uint64_t chunk_size);
// The same JSON shape the API serves (kept in the cache directory for offline use).
std::string ManifestToJson(const ImageManifest& manifest);

// Where manifests come from (ImageView::ManifestJson): the manifest's JSON of an image id;
// nullopt when the image has none (404); an error when the API cannot be asked.
using ManifestSource = std::function<Result<std::optional<std::string>>(const std::string& image_id)>;

}  // namespace glint::fs
