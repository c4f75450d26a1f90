// DataSource: where glint-fs reads image bytes from. The file store is read directly
// from its directory (shared with the API host, or local), zero-copy through the file
// descriptor; the HTTP fallback reads through the API with Range requests for hosts
// without direct store access. The rbd source reads RBD snapshots through librbd.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/http_client.h"
#include "common/status.h"
#include "fs/image_view.h"
#include "fs/readahead.h"
#include "store/backend.h"

namespace glint::fs {

class DataSource {
 public:
  virtual ~DataSource() = default;
  virtual Result<std::unique_ptr<store::Reader>> Open(const ImageEntry& image) = 0;
  // A reader for the host cache's whole-chunk fetches: the cache reads ahead in chunks
  // itself, so a source's own read-ahead would fetch the same bytes a second time.
  virtual Result<std::unique_ptr<store::Reader>> OpenForChunks(const ImageEntry& image) { return Open(image); }
  // When the image's data was written (seconds since the epoch), if the store knows.
  virtual std::optional<int64_t> DataTime(const ImageEntry& image) { return std::nullopt; }
};

std::unique_ptr<DataSource> NewFileStoreSource(const std::string& store_dir, Status* status);
std::unique_ptr<DataSource> NewHttpSource(const std::string& api_url, TokenSource& tokens,
                                          const client::ClientOptions& http = {});
// Reads each image from the first of `sources` that holds it (multi-store clouds).
std::unique_ptr<DataSource> NewChainSource(std::vector<std::unique_ptr<DataSource>> sources);
// Reads rbd-backed images through librbd from their protected snapshot, read-only: the
// host needs a Ceph client config and key, not API access to the data. Sequential reads
// get read-ahead (readahead.depth 0: off).
std::unique_ptr<DataSource> NewRbdSource(const store::RbdOptions& options, const ReadAheadOptions& readahead,
                                         Status* status);

}  // namespace glint::fs
