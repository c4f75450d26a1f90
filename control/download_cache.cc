#include "control/download_cache.h"

#include <spdlog/spdlog.h>

#include "cache/image_cache.h"
#include "common/chunk_manifest.h"

namespace glint::control {

namespace {

// The chunk digests that let `img` be cached, from its manifest; nullopt when it has
// none or one that does not fit it (logged: the manifest backfill may give it one).
std::optional<cache::ImageChunks> ChunksOf(ApiContext& api, const catalog::ImageRecord& img) {
  auto m = api.catalog.GetManifest(img.id);
  if (!m.ok()) {
    if (m.status().code() != Status::Code::kNotFound) {
      spdlog::warn("image cache: manifest of {}: {}; serving it uncached", img.id, m.status().ToString());
    }
    return std::nullopt;
  }
  const bool fits = m->image_id == img.id && img.size && m->size == *img.size &&
                    m->chunk_size == static_cast<int64_t>(api.image_cache->chunks().chunk_size()) &&
                    m->os_hash_value == img.os_hash_value.value_or("") && ManifestConsistent(*m);
  if (!fits) {
    spdlog::error("image cache: the chunk manifest of {} does not fit the image; serving it uncached", img.id);
    return std::nullopt;
  }
  return cache::ImageChunks{img.id, m->size, m->chunks};
}

}  // namespace

Result<std::unique_ptr<store::Reader>> OpenImageData(ApiContext& api, const catalog::ImageRecord& img) {
  Status last = Status::NotFound("image data is not in any configured store");
  for (const auto& loc : img.locations) {
    store::Backend* owner = api.stores.Owner(loc.url);
    if (!owner) continue;
    auto opened = owner->Open(loc.url);
    if (opened.ok()) return opened;
    last = opened.status();
  }
  spdlog::error("image {}: data unavailable: {}", img.id, last.ToString());
  if (last.code() == Status::Code::kNotFound) return Status::NotFound("Image data for " + img.id + " is not available");
  return last;
}

std::unique_ptr<store::Reader> CachedImageData(ApiContext& api, const catalog::ImageRecord& img) {
  if (!api.image_cache || img.status != catalog::kActive || !img.size || *img.size <= 0 ||
      static_cast<uint64_t>(*img.size) > api.image_cache->max_size()) {
    return nullptr;
  }
  auto chunks = ChunksOf(api, img);
  if (!chunks) return nullptr;
  // Not cached whole: the store is opened now, so that missing data is answered before
  // the response starts (a cached image is read with its store gone).
  auto opened = std::make_shared<std::unique_ptr<store::Reader>>();
  if (!api.image_cache->IsCached(img.id)) {
    auto r = OpenImageData(api, img);
    if (!r.ok()) return nullptr;  // the caller opens it again and answers the error
    *opened = std::move(r).value();
  }
  return api.image_cache->Reader(*chunks, [&api, img, opened]() -> Result<std::unique_ptr<store::Reader>> {
    if (*opened) return std::move(*opened);
    return OpenImageData(api, img);
  });
}

Status PrefetchImage(ApiContext& api, const std::string& image_id) {
  if (api.image_cache->IsCached(image_id)) return Status::Ok();
  auto img = api.catalog.GetImage(image_id);
  if (!img.ok()) return img.status();
  if (img->status != catalog::kActive) return Status::InvalidArgument("image " + image_id + " is not active");
  auto chunks = ChunksOf(api, *img);
  if (!chunks) return Status::InvalidArgument("image " + image_id + " has no chunk manifest to verify it against");
  if (static_cast<uint64_t>(chunks->size) > api.image_cache->max_size()) {
    return Status::InvalidArgument("image " + image_id + " is larger than image_cache_max_size");
  }
  auto reader = api.image_cache->Reader(*chunks, [&api, img = *img] { return OpenImageData(api, img); });
  return reader->FillAll();
}

}  // namespace glint::control
