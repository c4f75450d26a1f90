#include <cstring>
#include <map>
#include <mutex>

#include "common/ids.h"
#include "store/backend.h"

namespace glint::store {
namespace {

struct Objects {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<const std::string>> committed;  // image id -> data
  std::map<std::pair<std::string, std::string>, bool> partial;         // (id, token)
};

class MemoryWriter final : public Writer {
 public:
  MemoryWriter(std::shared_ptr<Objects> o, std::string id, std::string token, std::string loc)
      : o_(std::move(o)), id_(std::move(id)), token_(std::move(token)), loc_(std::move(loc)) {}
  ~MemoryWriter() override { Abort(); }
  Status Write(const char* data, size_t len) override {
    buf_.append(data, len);
    return Status::Ok();
  }
  Result<std::string> Commit() override {
    std::lock_guard<std::mutex> l(o_->mu);
    o_->committed[id_] = std::make_shared<const std::string>(std::move(buf_));
    o_->partial.erase({id_, token_});
    done_ = true;
    return loc_;
  }
  void Abort() override {
    if (done_) return;
    std::lock_guard<std::mutex> l(o_->mu);
    o_->partial.erase({id_, token_});
    done_ = true;
  }

 private:
  std::shared_ptr<Objects> o_;
  std::string id_, token_, loc_, buf_;
  bool done_ = false;
};

class MemoryReader final : public Reader {
 public:
  explicit MemoryReader(std::shared_ptr<const std::string> d) : d_(std::move(d)) {}
  int64_t size() const override { return static_cast<int64_t>(d_->size()); }
  Result<size_t> ReadAt(int64_t offset, char* buf, size_t len) override {
    if (offset >= size()) return size_t{0};
    size_t n = std::min(len, d_->size() - static_cast<size_t>(offset));
    std::memcpy(buf, d_->data() + offset, n);
    return n;
  }

 private:
  std::shared_ptr<const std::string> d_;
};

class MemoryBackend final : public Backend {
 public:
  explicit MemoryBackend(std::string id) : id_(std::move(id)), o_(std::make_shared<Objects>()) {}
  const std::string& id() const override { return id_; }
  bool OwnsLocation(const std::string& url) const override {
    return url.rfind(Prefix(), 0) == 0 && IsUuid(url.substr(Prefix().size()));
  }
  std::string LocationFor(const std::string& image_id) const override { return Prefix() + image_id; }

  Result<std::unique_ptr<Writer>> NewWriter(const std::string& image_id,
                                            const std::string& token) override {
    if (!IsUuid(image_id)) return Status::InvalidArgument("invalid image id");
    std::lock_guard<std::mutex> l(o_->mu);
    o_->partial[{image_id, token}] = true;
    return std::unique_ptr<Writer>(new MemoryWriter(o_, image_id, token, LocationFor(image_id)));
  }
  Result<std::unique_ptr<Reader>> Open(const std::string& location) override {
    if (!OwnsLocation(location)) return Status::InvalidArgument("not a memory location");
    std::lock_guard<std::mutex> l(o_->mu);
    auto it = o_->committed.find(location.substr(Prefix().size()));
    if (it == o_->committed.end()) return Status::NotFound("no data at " + location);
    return std::unique_ptr<Reader>(new MemoryReader(it->second));
  }
  Status Delete(const std::string& location) override {
    if (!OwnsLocation(location)) return Status::InvalidArgument("not a memory location");
    std::lock_guard<std::mutex> l(o_->mu);
    o_->committed.erase(location.substr(Prefix().size()));
    return Status::Ok();
  }
  Result<std::vector<StoredObject>> ListObjects() override {
    std::lock_guard<std::mutex> l(o_->mu);
    std::vector<StoredObject> out;
    for (auto& [id, d] : o_->committed) out.push_back({id, id, ""});
    for (auto& [k, v] : o_->partial) out.push_back({k.first + "." + k.second, k.first, k.second});
    return out;
  }
  Status DeleteObject(const StoredObject& object) override {
    std::lock_guard<std::mutex> l(o_->mu);
    if (object.upload_token.empty()) {
      o_->committed.erase(object.image_id);
    } else {
      o_->partial.erase({object.image_id, object.upload_token});
    }
    return Status::Ok();
  }

 private:
  std::string Prefix() const { return "memory://" + id_ + "/"; }
  std::string id_;
  std::shared_ptr<Objects> o_;
};

}  // namespace

std::unique_ptr<Backend> NewMemoryBackend(const std::string& id) {
  return std::make_unique<MemoryBackend>(id);
}

}  // namespace glint::store
