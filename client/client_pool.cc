#include "client/client_pool.h"

namespace glint::client {

Result<ClientPool::Lease> ClientPool::Borrow() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<HttpClient> c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(c));
    }
  }
  auto created = HttpClient::Create(base_url_, options_);  // outside the lock
  if (!created.ok()) return created.status();
  return Lease(this, std::move(created).value());
}

void ClientPool::Return(std::unique_ptr<HttpClient> client) {
  std::unique_ptr<HttpClient> surplus;  // closed outside the lock
  std::lock_guard<std::mutex> l(mu_);
  if (idle_.size() < max_idle_) {
    idle_.push_back(std::move(client));
  } else {
    surplus = std::move(client);
  }
}

size_t ClientPool::idle() const {
  std::lock_guard<std::mutex> l(mu_);
  return idle_.size();
}

}  // namespace glint::client
