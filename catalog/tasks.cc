// Import tasks (Glance's `tasks` rows): recorded, renewed while a copy holds its lock,
// finished, and listed per image until they expire.
#include <optional>
#include <string>
#include <vector>

#include "catalog/sql_catalog.h"
#include "common/ids.h"

namespace glint::catalog {

using sql::Db;
using sql::Transaction;

Status SqlCatalog::CreateTask(const TaskRecord& t) {
  return pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);  // a write transaction: the check and the insert are one step
    GLINT_RETURN_IF_ERROR(tx.status());
    if (t.lock_token) {
      // A task holding a lock (a copy) is exclusive: no other unfinished task on the image.
      auto busy = db.Prepare(
          "SELECT COUNT(*) FROM tasks WHERE image_id = ? AND status IN ('pending', 'processing')");
      if (!busy.ok()) return busy.status();
      busy->Bind(1, t.image_id);
      auto row = busy->Step();
      if (!row.ok()) return row.status();
      if (*row && busy->Int(0) > 0) return Status::Conflict("Image has active task");
    }
    auto st = db.Prepare(
        "INSERT INTO tasks (id, image_id, type, status, owner, user_id, request_id, input, result, message, "
        "created_at, updated_at, expires_at, lock_token, lock_node, lock_expires) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st.ok()) return st.status();
    int i = 1;
    st->Bind(i++, t.id);
    st->Bind(i++, t.image_id);
    st->Bind(i++, t.type);
    st->Bind(i++, t.status);
    st->Bind(i++, t.owner);
    st->Bind(i++, t.user_id);
    st->Bind(i++, t.request_id);
    st->Bind(i++, t.input_json);
    st->Bind(i++, t.result_json);
    st->Bind(i++, t.message);
    st->Bind(i++, t.created_at);
    st->Bind(i++, t.updated_at);
    st->Bind(i++, t.expires_at);
    st->Bind(i++, t.lock_token);
    st->Bind(i++, t.lock_node);
    st->Bind(i++, t.lock_expires);
    GLINT_RETURN_IF_ERROR(st->Run());
    return tx.Commit();
  });
}

Status SqlCatalog::RenewTask(const std::string& id, const std::string& token, int64_t expires_at) {
  return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare("UPDATE tasks SET lock_expires = ? WHERE id = ? AND lock_token = ? "
                         "AND status IN ('pending', 'processing')");
    if (!st.ok()) return st.status();
    st->Bind(1, expires_at);
    st->Bind(2, id);
    st->Bind(3, token);
    GLINT_RETURN_IF_ERROR(st->Run());
    if (db.Changes() == 0) return Status::Conflict("task " + id + " lost its lock");
    return Status::Ok();
  });
}

Status SqlCatalog::UpdateTask(const std::string& id, const std::string& status,
                                 const std::optional<std::string>& result,
                                 const std::string& message) {
  return pool_.WithDb([&](Db& db) -> Status {
    int64_t now = NowMicros();
    bool final = status == "success" || status == "failure";
    // Only an unfinished task changes: one that recovery already failed stays failed.
    auto st = db.Prepare(std::string("UPDATE tasks SET status = ?, result = COALESCE(?, result), message = ?, "
                                     "updated_at = ?, expires_at = ?") +
                         (final ? ", lock_token = NULL" : "") +
                         " WHERE id = ? AND status IN ('pending', 'processing')");
    if (!st.ok()) return st.status();
    st->Bind(1, status);
    st->Bind(2, result);
    st->Bind(3, message);
    st->Bind(4, now);
    st->Bind(5, final ? std::optional<int64_t>(now + kFinishedTaskLifetimeMicros) : std::nullopt);
    st->Bind(6, id);
    GLINT_RETURN_IF_ERROR(st->Run());
    if (db.Changes() == 0) return Status::Conflict("task " + id + " is already finished");
    return Status::Ok();
  });
}

Result<std::vector<TaskRecord>> SqlCatalog::ListTasks(const std::string& image_id) {
  std::vector<TaskRecord> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    out.clear();  // a retried call starts again
    auto st = db.Prepare(
        "SELECT id, image_id, type, status, owner, user_id, request_id, input, result, message, created_at, "
        "updated_at, expires_at FROM tasks WHERE image_id = ? AND (expires_at IS NULL OR expires_at > ?) "
        "ORDER BY created_at DESC");
    if (!st.ok()) return st.status();
    st->Bind(1, image_id);
    st->Bind(2, NowMicros());
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::Ok();
      TaskRecord t;
      t.id = st->Text(0);
      t.image_id = st->Text(1);
      t.type = st->Text(2);
      t.status = st->Text(3);
      t.owner = st->OptText(4);
      t.user_id = st->OptText(5);
      t.request_id = st->OptText(6);
      t.input_json = st->Text(7);
      t.result_json = st->OptText(8);
      t.message = st->Text(9);
      t.created_at = st->Int(10);
      t.updated_at = st->Int(11);
      t.expires_at = st->OptInt(12);
      out.push_back(std::move(t));
    }
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace glint::catalog
