// The image data path of downloads, through the node's image cache when it is on
// (cache/image_cache.h): OpenImageData opens an image's data in the first store that has
// it; CachedImageData gives a reader through the cache for an active image whose chunk
// manifest (from the catalog) fits it, or null when the image cannot be cached (no
// manifest, a manifest that does not fit, larger than the cache): then the download
// streams from the store as without a cache. PrefetchImage is the cache's prefetcher:
// it caches a queued image whole. Called on worker threads and the prefetch thread.
#pragma once

#include <memory>

#include "catalog/catalog.h"
#include "control/api_context.h"
#include "store/backend.h"

namespace glint::control {

// The image's data from the first of its locations a configured store can open.
Result<std::unique_ptr<store::Reader>> OpenImageData(ApiContext& api, const catalog::ImageRecord& img);
// A reader of `img`'s data through the image cache; null when it is not to be cached.
std::unique_ptr<store::Reader> CachedImageData(ApiContext& api, const catalog::ImageRecord& img);
// Fetches image `image_id` whole into the image cache.
Status PrefetchImage(ApiContext& api, const std::string& image_id);

}  // namespace glint::control
