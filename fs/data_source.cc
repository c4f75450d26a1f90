#include "fs/data_source.h"

#include <vector>

#include <cstring>
#include <mutex>

#include <sys/stat.h>

#include "client/http_client.h"

namespace glint::fs {
namespace {

class FileStoreSource final : public DataSource {
 public:
  FileStoreSource(std::unique_ptr<store::Backend> b, std::string dir)
      : backend_(std::move(b)), dir_(std::move(dir)) {}
  std::optional<int64_t> DataTime(const ImageEntry& image) override {
    struct stat st;
    if (::stat((dir_ + "/" + image.id).c_str(), &st) != 0) return std::nullopt;
    return static_cast<int64_t>(st.st_mtime);
  }
  Result<std::unique_ptr<store::Reader>> Open(const ImageEntry& image) override {
    auto r = backend_->Open(backend_->LocationFor(image.id));
    if (!r.ok()) return r;
    if ((*r)->size() != image.size) {
      return Status::Corruption("store data of " + image.id + " has " + std::to_string((*r)->size()) +
                                " bytes, the catalog says " + std::to_string(image.size));
    }
    return r;
  }

 private:
  std::unique_ptr<store::Backend> backend_;
  std::string dir_;
};

// Reads by Range requests on one kept-alive connection per open file.
class HttpReader final : public store::Reader {
 public:
  HttpReader(std::unique_ptr<client::HttpClient> c, std::string path, TokenSource& tokens, int64_t size)
      : client_(std::move(c)), path_(std::move(path)), tokens_(tokens), size_(size) {}
  int64_t size() const override { return size_; }
  Result<size_t> ReadAt(int64_t offset, char* buf, size_t len) override {
    if (offset >= size_ || len == 0) return size_t{0};
    len = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(len), size_ - offset));
    std::lock_guard<std::mutex> l(mu_);
    auto token = tokens_.Token(false);
    if (!token.ok()) return token.status();
    int status = 0;
    auto got = client::ReadRange(*client_, path_, {{"X-Auth-Token", *token}}, offset, buf, len, &status);
    if (!got.ok()) return got.status();
    if (status != 206) return Status::IOError("range read answered HTTP " + std::to_string(status));
    return *got;
  }

 private:
  std::mutex mu_;
  std::unique_ptr<client::HttpClient> client_;
  std::string path_;
  TokenSource& tokens_;
  int64_t size_;
};

class HttpSource final : public DataSource {
 public:
  HttpSource(std::string url, TokenSource& tokens, client::ClientOptions http)
      : url_(std::move(url)), tokens_(tokens), http_(std::move(http)) {}
  Result<std::unique_ptr<store::Reader>> Open(const ImageEntry& image) override {
    auto c = client::HttpClient::Create(url_, http_);
    if (!c.ok()) return c.status();
    return std::unique_ptr<store::Reader>(
        new HttpReader(std::move(c).value(), "/v2/images/" + image.id + "/file", tokens_, image.size));
  }

 private:
  std::string url_;
  TokenSource& tokens_;
  client::ClientOptions http_;
};

// An rbd image snapshot opened read-only. Each read is a round trip to the OSDs, so
// sequential readers get read-ahead: the next windows are fetched in parallel.
class RbdSource final : public DataSource {
 public:
  RbdSource(std::unique_ptr<store::Backend> b, std::shared_ptr<Prefetcher> p)
      : backend_(std::move(b)), prefetcher_(std::move(p)) {}
  Result<std::unique_ptr<store::Reader>> Open(const ImageEntry& image) override {
    auto r = OpenForChunks(image);
    if (!r.ok() || !prefetcher_) return r;
    return WithReadAhead(std::move(r).value(), prefetcher_);
  }
  Result<std::unique_ptr<store::Reader>> OpenForChunks(const ImageEntry& image) override {
    auto r = backend_->Open(backend_->LocationFor(image.id));
    if (r.ok() && (*r)->size() != image.size) {
      return Status::Corruption("rbd image " + image.id + " has " + std::to_string((*r)->size()) +
                                " bytes, the catalog says " + std::to_string(image.size));
    }
    return r;
  }

 private:
  std::unique_ptr<store::Backend> backend_;
  std::shared_ptr<Prefetcher> prefetcher_;  // null: read-ahead off
};

// Several data paths for a multi-store cloud (`fast:rbd, local:file`): an image is read
// from the first source that has it.
class ChainSource final : public DataSource {
 public:
  explicit ChainSource(std::vector<std::unique_ptr<DataSource>> s) : sources_(std::move(s)) {}
  Result<std::unique_ptr<store::Reader>> Open(const ImageEntry& image) override {
    return First(image, [&](DataSource& src) { return src.Open(image); });
  }
  Result<std::unique_ptr<store::Reader>> OpenForChunks(const ImageEntry& image) override {
    return First(image, [&](DataSource& src) { return src.OpenForChunks(image); });
  }
  std::optional<int64_t> DataTime(const ImageEntry& image) override {
    for (auto& src : sources_) {
      if (auto t = src->DataTime(image)) return t;
    }
    return std::nullopt;
  }

 private:
  template <typename OpenFn>
  Result<std::unique_ptr<store::Reader>> First(const ImageEntry& image, OpenFn open) {
    Status worst = Status::NotFound("image " + image.id + " is in none of the stores this host reads");
    for (auto& src : sources_) {
      auto r = open(*src);
      if (r.ok()) return r;
      // A store that is down matters more than one that does not hold the image.
      if (r.status().code() != Status::Code::kNotFound) worst = r.status();
    }
    return worst;
  }

  std::vector<std::unique_ptr<DataSource>> sources_;
};

}  // namespace

std::unique_ptr<DataSource> NewChainSource(std::vector<std::unique_ptr<DataSource>> sources) {
  if (sources.size() == 1) return std::move(sources[0]);
  return std::make_unique<ChainSource>(std::move(sources));
}

std::unique_ptr<DataSource> NewRbdSource(const store::RbdOptions& options, const ReadAheadOptions& readahead,
                                         Status* status) {
  auto b = store::NewRbdBackend("rbd", options);
  if (!b.ok()) {
    *status = b.status();
    return nullptr;
  }
  std::shared_ptr<Prefetcher> prefetcher;
  if (readahead.depth > 0 && readahead.window > 0) prefetcher = NewPrefetcher(readahead);
  return std::make_unique<RbdSource>(std::move(b).value(), std::move(prefetcher));
}

std::unique_ptr<DataSource> NewFileStoreSource(const std::string& store_dir, Status* status) {
  struct stat st;
  if (::stat(store_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *status = Status::NotFound("store directory " + store_dir + " does not exist");
    return nullptr;
  }
  auto b = store::NewFileBackend("file", store_dir);
  if (!b.ok()) {
    *status = b.status();
    return nullptr;
  }
  return std::make_unique<FileStoreSource>(std::move(b).value(), store_dir);
}

std::unique_ptr<DataSource> NewHttpSource(const std::string& api_url, TokenSource& tokens,
                                          const client::ClientOptions& http) {
  return std::make_unique<HttpSource>(api_url, tokens, http);
}

}  // namespace glint::fs
