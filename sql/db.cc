#include "sql/db.h"

namespace glint::sql {

Stmt::~Stmt() {
  if (!c_) return;  // moved from
  c_->Reset();
  if (cached_) cached_->borrowed = false;
}

Status Stmt::Run() {
  for (;;) {
    auto r = Step();
    if (!r.ok()) return r.status();
    if (!*r) return Status::Ok();
  }
}

// A statement in use is never dropped: a full cache evicts only the statements no Stmt
// borrows, and when that frees no room (or the same SQL is already borrowed, as by a
// nested use) the caller gets a statement of its own, dropped when its Stmt dies.
// Evicting everything instead once freed statements that a caller was still stepping:
// a listing holds its page query while preparing the child queries, whose SQL text
// varies with the page size, so ordinary list traffic overflowed the cache mid-query.
Result<Stmt> Db::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.borrowed) return Stmt(&it->second);
  bool cacheable = it == cache_.end();
  if (cacheable && cache_.size() >= kStatementCacheLimit) {
    EvictIdleStatements();
    cacheable = cache_.size() < kStatementCacheLimit;
  }
  auto prepared = PrepareCursor(sql);
  if (!prepared.ok()) return prepared.status();
  if (!cacheable) return Stmt(std::move(prepared).value());
  auto inserted = cache_.emplace(sql, CachedStmt{std::move(prepared).value()}).first;
  return Stmt(&inserted->second);
}

void Db::EvictIdleStatements() {
  std::erase_if(cache_, [](const auto& entry) { return !entry.second.borrowed; });
}

Transaction::Transaction(Db& db) : db_(db) { begin_ = db_.Begin(); }

Transaction::~Transaction() {
  if (begin_.ok() && !done_) (void)db_.Rollback();
}

Status Transaction::Commit() {
  done_ = true;
  return db_.Commit();
}

}  // namespace glint::sql
