#include "fs/image_pins.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>

#include "common/ids.h"

namespace glint::fs {

using nlohmann::json;

namespace {
const std::string kPinSuffix = ".pin";
constexpr auto kRetry = std::chrono::seconds(10);
}  // namespace

std::string ImageEntryToJson(const ImageEntry& e) {
  json j = {{"id", e.id}, {"status", e.status}, {"size", e.size}, {"updated_at", e.updated_at}, {"fields", e.fields}};
  if (e.name) j["name"] = *e.name;
  if (e.owner) j["owner"] = *e.owner;
  return j.dump();
}

std::optional<ImageEntry> ImageEntryFromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    ImageEntry e;
    e.id = j.at("id").get<std::string>();
    e.status = j.at("status").get<std::string>();
    e.size = j.at("size").get<int64_t>();
    e.updated_at = j.at("updated_at").get<int64_t>();
    e.fields = j.at("fields").get<std::map<std::string, std::string>>();
    if (j.contains("name")) e.name = j["name"].get<std::string>();
    if (j.contains("owner")) e.owner = j["owner"].get<std::string>();
    if (!IsUuid(e.id) || e.size < 0) return std::nullopt;
    return e;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

ImagePins::ImagePins(HostCache& cache) : cache_(cache) {
  cache::ChunkCache& chunks = cache_.cache();
  for (const auto& name : chunks.MetaNames()) {
    if (name.size() <= kPinSuffix.size() || name.compare(name.size() - kPinSuffix.size(), kPinSuffix.size(), kPinSuffix)) {
      continue;
    }
    auto text = chunks.GetMeta(name);
    auto entry = text ? ImageEntryFromJson(*text) : std::nullopt;
    if (!entry || entry->id + kPinSuffix != name) {
      spdlog::warn("cache: dropping unreadable pin {}", name);
      chunks.RemoveMeta(name);
      continue;
    }
    chunks.SetPinned(entry->id, true);
    queue_.push_back(entry->id);
    pinned_[entry->id] = std::move(*entry);
  }
}

ImagePins::~ImagePins() { Stop(); }

void ImagePins::Start() {
  std::lock_guard<std::mutex> l(mu_);
  if (!thread_.joinable() && !stop_) thread_ = std::thread([this] { Run(); });
}

void ImagePins::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int ImagePins::Pin(const ImageEntry& image) {
  if (!IsUuid(image.id)) return EINVAL;
  cache::ChunkCache& chunks = cache_.cache();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (pinned_.count(image.id)) return 0;
    uint64_t pinned_bytes = static_cast<uint64_t>(image.size);
    for (const auto& [id, e] : pinned_) pinned_bytes += static_cast<uint64_t>(e.size);
    if (pinned_bytes > chunks.capacity()) return ENOSPC;
  }
  if (!cache_.Cacheable(image)) return ENOTSUP;
  Status kept = chunks.PutMeta(image.id + kPinSuffix, ImageEntryToJson(image));
  if (!kept.ok()) {
    spdlog::error("cache: cannot pin {}: {}", image.id, kept.ToString());
    return EIO;
  }
  chunks.SetPinned(image.id, true);
  {
    std::lock_guard<std::mutex> l(mu_);
    pinned_[image.id] = image;
    queue_.push_back(image.id);
  }
  cv_.notify_all();
  spdlog::info("cache: pinned {} ({} bytes); fetching it", image.id, image.size);
  return 0;
}

void ImagePins::Unpin(const std::string& id) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!pinned_.erase(id)) return;
  }
  cache_.cache().RemoveMeta(id + kPinSuffix);
  cache_.cache().SetPinned(id, false);
  spdlog::info("cache: unpinned {}", id);
}

bool ImagePins::Pinned(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  return pinned_.count(id) > 0;
}

std::vector<ImageEntry> ImagePins::PinnedImages() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<ImageEntry> out;
  for (const auto& [id, e] : pinned_) out.push_back(e);
  return out;
}

size_t ImagePins::Pending() {
  std::lock_guard<std::mutex> l(mu_);
  return queue_.size();
}

bool ImagePins::FetchAll(const ImageEntry& image) {
  auto reader = cache_.Open(image, /*learn=*/false);
  auto* cached = reader.ok() ? dynamic_cast<CachedReader*>(reader->get()) : nullptr;
  if (!cached) {
    spdlog::warn("cache: cannot fetch pinned {}: {}", image.id,
                 reader.ok() ? "it cannot be cached" : reader.status().ToString());
    return false;
  }
  for (int64_t i = 0; i < cached->chunk_count(); ++i) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stop_ || !pinned_.count(image.id)) return true;
    }
    if (cache_.cache().Contains({image.id, i})) continue;
    auto chunk = cached->Chunk(i);
    if (!chunk.ok()) {
      spdlog::warn("cache: fetching pinned {} stopped at chunk {}: {}", image.id, i, chunk.status().ToString());
      return false;
    }
  }
  spdlog::info("cache: pinned {} is fully cached", image.id);
  cache_.Settle(image.id, image.size);  // kept whole: its opens read by passthrough
  return true;
}

void ImagePins::Run() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    if (queue_.empty()) {
      cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
      continue;
    }
    std::string id = queue_.front();
    auto it = pinned_.find(id);
    if (it == pinned_.end()) {
      queue_.pop_front();
      continue;
    }
    ImageEntry image = it->second;
    l.unlock();
    bool done = FetchAll(image);
    l.lock();
    queue_.pop_front();
    if (!done && pinned_.count(id)) {
      queue_.push_back(id);  // the store or the API is down: try again later
      cv_.wait_for(l, kRetry, [&] { return stop_; });
    }
  }
}

}  // namespace glint::fs
