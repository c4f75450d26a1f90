// Read-ahead for stores where each read is a network round trip (RBD): when a file is read
// sequentially, the next windows are fetched in parallel on a shared pool, ahead of the
// kernel's requests, so a streaming reader (qemu-img convert, dd, a booting guest) sees
// the store's throughput instead of one round trip per request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "store/backend.h"

namespace glint::fs {

struct ReadAheadOptions {
  size_t window = 4 << 20;          // bytes fetched per prefetch read
  int depth = 4;                    // windows kept in flight ahead of the reader
  int threads = 4;                  // shared prefetch threads (parallel reads)
  size_t budget = size_t{256} << 20;  // bytes of prefetched data across all open files
  double idle_seconds = 2;            // a file not read this long yields its windows to others
};

// The shared prefetch threads and memory budget. Outlives every reader made with it.
class Prefetcher;
std::shared_ptr<Prefetcher> NewPrefetcher(const ReadAheadOptions& options);
// Bytes of the budget held now (prefetched or being fetched): for tests and stats.
size_t PrefetchedBytes(const Prefetcher& prefetcher);

// Wraps `base` (whose ReadAt must be safe to call from several threads at once) with
// sequential-access detection and read-ahead. Random reads go straight to `base`.
std::unique_ptr<store::Reader> WithReadAhead(std::unique_ptr<store::Reader> base,
                                             std::shared_ptr<Prefetcher> prefetcher);

}  // namespace glint::fs
