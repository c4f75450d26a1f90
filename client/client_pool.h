// ClientPool: kept-alive outbound connections to one base URL, shared by threads. A call
// borrows an idle HttpClient (its libcurl handle keeps the connection, TLS session and DNS
// answer of its last request) or makes a new one when all are busy, and gives it back
// afterwards; at most `max_idle` wait for reuse. The lock guards only the idle list: it is
// never held during I/O, so concurrent calls run in parallel, each on its own connection.
//
// Used by KeystoneClient (token validation for every request in Keystone mode).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/http_client.h"
#include "common/status.h"

namespace glint::client {

class ClientPool {
 public:
  ClientPool(std::string base_url, ClientOptions options, size_t max_idle = 8)
      : base_url_(std::move(base_url)), options_(std::move(options)), max_idle_(max_idle) {}

  // A borrowed client; back to the pool when it goes out of scope, unless Discard()ed
  // (after a failure, its connection may be in any state).
  class Lease {
   public:
    Lease(ClientPool* pool, std::unique_ptr<HttpClient> client) : pool_(pool), client_(std::move(client)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (client_) pool_->Return(std::move(client_));
    }
    HttpClient* operator->() { return client_.get(); }
    void Discard() { client_.reset(); }

   private:
    ClientPool* pool_;
    std::unique_ptr<HttpClient> client_;
  };

  Result<Lease> Borrow();
  size_t idle() const;

 private:
  void Return(std::unique_ptr<HttpClient> client);

  const std::string base_url_;
  const ClientOptions options_;
  const size_t max_idle_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<HttpClient>> idle_;
};

}  // namespace glint::client
