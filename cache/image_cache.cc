#include "cache/image_cache.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <sstream>

#include "common/ids.h"

namespace glint::cache {
namespace {

const std::string kRecordPrefix = "image-";
const std::string kQueueFile = "queue";
constexpr const char* kRecordTag = "glint-image-cache-record-v1";

double Seconds(int64_t micros) { return static_cast<double>(micros) / 1e6; }

}  // namespace

Result<std::unique_ptr<ImageCache>> ImageCache::Open(const ImageCacheOptions& options, const Clock& clock) {
  ChunkCacheOptions o;
  o.dir = options.dir;
  o.capacity = options.max_size;
  auto chunks = ChunkCache::Open(o);
  if (!chunks.ok()) return chunks.status();
  std::unique_ptr<ImageCache> cache(new ImageCache(std::move(chunks).value(), options, clock));
  cache->Load();
  return cache;
}

ImageCache::ImageCache(std::unique_ptr<ChunkCache> chunks, const ImageCacheOptions& options, const Clock& clock)
    : chunks_(std::move(chunks)),
      clock_(clock),
      prefetch_delay_(static_cast<int64_t>(std::max(0.0, options.prefetch_delay) * 1e6)) {}

ImageCache::~ImageCache() { StopPrefetcher(); }

// Records and the queue from meta/; chunks no record accounts for are removed (a crash
// between a chunk's write and its record's), as are records without chunks.
void ImageCache::Load() {
  std::lock_guard<std::mutex> l(mu_);
  auto on_disk = chunks_->ChunksByImage();
  for (const auto& name : chunks_->MetaNames()) {
    if (name.rfind(kRecordPrefix, 0) != 0) continue;
    std::string id = name.substr(kRecordPrefix.size());
    auto text = chunks_->GetMeta(name);
    std::istringstream in(text.value_or(""));
    std::string tag;
    Record rec;
    in >> tag >> rec.size >> rec.chunk_count >> rec.hits >> rec.last_accessed >> rec.last_modified;
    if (!IsUuid(id) || tag != kRecordTag || in.fail() || rec.size <= 0 || !on_disk.count(id)) {
      chunks_->RemoveMeta(name);
      continue;
    }
    records_[id] = rec;
    CheckComplete(id, records_[id], on_disk[id]);
  }
  for (const auto& [id, count] : on_disk) {
    if (!records_.count(id)) chunks_->RemoveImage(id);
  }
  std::istringstream queue(chunks_->GetMeta(kQueueFile).value_or(""));
  std::string id;
  const int64_t now = clock_.NowMicros();
  while (queue >> id) {
    if (IsUuid(id) && !QueuedLocked(id)) queue_.push_back({id, now});
  }
}

bool ImageCache::CheckComplete(const std::string& image_id, Record& rec, size_t chunks_on_disk) {
  const bool complete = rec.chunk_count > 0 && chunks_on_disk >= static_cast<size_t>(rec.chunk_count);
  if (!complete) {
    rec.last_modified = 0;  // some chunks were evicted: no longer cached whole
    return false;
  }
  if (rec.last_modified == 0) {
    rec.last_modified = clock_.NowMicros();
    if (rec.last_accessed == 0) rec.last_accessed = rec.last_modified;
    SaveRecord(image_id, rec);
    if (RemoveQueuedLocked(image_id)) SaveQueue();
  }
  return true;
}

void ImageCache::SaveRecord(const std::string& image_id, const Record& rec) {
  std::ostringstream out;
  out << kRecordTag << ' ' << rec.size << ' ' << rec.chunk_count << ' ' << rec.hits << ' ' << rec.last_accessed << ' '
      << rec.last_modified << '\n';
  Status s = chunks_->PutMeta(kRecordPrefix + image_id, out.str());
  if (!s.ok()) spdlog::warn("image cache: cannot keep the record of {}: {}", image_id, s.ToString());
}

void ImageCache::SaveQueue() {
  std::string text;
  for (const auto& e : queue_) text += e.image_id + "\n";
  Status s = chunks_->PutMeta(kQueueFile, text);
  if (!s.ok()) spdlog::warn("image cache: cannot keep the queue: {}", s.ToString());
}

std::unique_ptr<ChunkedReader> ImageCache::Reader(const ImageChunks& image, OpenStore open_store) {
  {
    std::lock_guard<std::mutex> l(mu_);
    const int64_t chunk = static_cast<int64_t>(chunks_->chunk_size());
    Record& rec = records_[image.image_id];
    const bool fresh = rec.size != image.size;
    if (fresh) {
      rec = Record{};
      rec.size = image.size;
      rec.chunk_count = (image.size + chunk - 1) / chunk;
    }
    if (CheckComplete(image.image_id, rec, chunks_->CachedChunks(image.image_id))) {
      ++rec.hits;  // served from the cache
      rec.last_accessed = clock_.NowMicros();
    } else if (fresh) {
      SaveRecord(image.image_id, rec);  // before any chunk lands: Load keeps only recorded chunks
    }
  }
  return std::make_unique<ChunkedReader>(
      *chunks_, image.image_id, image.size, image.digests, std::move(open_store),
      [this, id = image.image_id](int64_t index, bool fetched) { OnChunk(id, index, fetched); });
}

void ImageCache::OnChunk(const std::string& image_id, int64_t index, bool fetched) {
  if (!fetched) return;
  std::lock_guard<std::mutex> l(mu_);
  auto it = records_.find(image_id);
  // Downloads and prefetches fill in order: the last chunk is where an image completes
  // (one filled out of order is found complete when the cache is next listed).
  if (it == records_.end() || index != it->second.chunk_count - 1) return;
  CheckComplete(image_id, it->second, chunks_->CachedChunks(image_id));
}

std::vector<CachedImage> ImageCache::Cached() {
  std::lock_guard<std::mutex> l(mu_);
  auto on_disk = chunks_->ChunksByImage();
  std::vector<CachedImage> out;
  // A record without chunks stays (a reader may be about to fill it); Load drops those
  // left at a restart.
  for (auto& [id, rec] : records_) {
    auto disk = on_disk.find(id);
    if (disk != on_disk.end() && CheckComplete(id, rec, disk->second)) {
      out.push_back({id, rec.size, rec.hits, Seconds(rec.last_accessed), Seconds(rec.last_modified)});
    }
  }
  return out;
}

std::vector<std::string> ImageCache::Queued() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out;
  for (const auto& e : queue_) out.push_back(e.image_id);
  return out;
}

bool ImageCache::IsCached(const std::string& image_id) {
  const size_t on_disk = chunks_->CachedChunks(image_id);
  std::lock_guard<std::mutex> l(mu_);
  auto it = records_.find(image_id);
  return it != records_.end() && CheckComplete(image_id, it->second, on_disk);
}

bool ImageCache::IsQueued(const std::string& image_id) {
  std::lock_guard<std::mutex> l(mu_);
  return QueuedLocked(image_id);
}

bool ImageCache::QueuedLocked(const std::string& image_id) const {
  return std::any_of(queue_.begin(), queue_.end(), [&](const QueueEntry& e) { return e.image_id == image_id; });
}

bool ImageCache::Queue(const std::string& image_id) {
  if (IsCached(image_id)) return false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (QueuedLocked(image_id)) return false;
    queue_.push_back({image_id, clock_.NowMicros()});
    SaveQueue();
  }
  cv_.notify_all();
  return true;
}

bool ImageCache::RemoveQueuedLocked(const std::string& image_id) {
  auto it = std::find_if(queue_.begin(), queue_.end(), [&](const QueueEntry& e) { return e.image_id == image_id; });
  if (it == queue_.end()) return false;
  queue_.erase(it);
  return true;
}

bool ImageCache::DeleteQueued(const std::string& image_id) {
  std::lock_guard<std::mutex> l(mu_);
  if (!RemoveQueuedLocked(image_id)) return false;
  SaveQueue();
  return true;
}

bool ImageCache::DeleteCached(const std::string& image_id) {
  std::lock_guard<std::mutex> l(mu_);
  const bool recorded = records_.erase(image_id) > 0;
  chunks_->RemoveMeta(kRecordPrefix + image_id);
  return chunks_->RemoveImage(image_id) > 0 || recorded;
}

size_t ImageCache::DeleteAllCached() {
  std::lock_guard<std::mutex> l(mu_);
  auto on_disk = chunks_->ChunksByImage();
  size_t n = 0;
  for (const auto& [id, rec] : records_) {
    chunks_->RemoveMeta(kRecordPrefix + id);
    if (on_disk.count(id)) ++n;
  }
  records_.clear();
  for (const auto& [id, count] : on_disk) chunks_->RemoveImage(id);
  return n;
}

size_t ImageCache::DeleteAllQueued() {
  std::lock_guard<std::mutex> l(mu_);
  const size_t n = queue_.size();
  queue_.clear();
  SaveQueue();
  return n;
}

void ImageCache::StartPrefetcher(Prefetch prefetch) {
  std::lock_guard<std::mutex> l(mu_);
  if (prefetcher_.joinable()) return;
  prefetch_ = std::move(prefetch);
  stop_ = false;
  prefetcher_ = std::thread([this] { PrefetchLoop(); });
}

void ImageCache::StopPrefetcher() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (prefetcher_.joinable()) prefetcher_.join();
}

// Takes the oldest queued image once it has waited prefetch_delay, fetches it whole and
// takes it off the queue, whatever the outcome (a failure is logged, not retried).
void ImageCache::PrefetchLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    if (queue_.empty()) {
      cv_.wait(l);
      continue;
    }
    const QueueEntry next = queue_.front();
    const int64_t wait = next.queued_at + prefetch_delay_ - clock_.NowMicros();
    if (wait > 0) {
      cv_.wait_for(l, std::chrono::microseconds(std::min<int64_t>(wait, 200000)));
      continue;
    }
    l.unlock();
    Status s = Status::Internal("prefetch failed");
    try {
      s = prefetch_(next.image_id);
    } catch (const std::exception& e) {
      s = Status::Internal(e.what());
    }
    if (!s.ok()) spdlog::warn("image cache: prefetching {} failed: {}", next.image_id, s.ToString());
    l.lock();
    if (RemoveQueuedLocked(next.image_id)) SaveQueue();
  }
}

}  // namespace glint::cache
