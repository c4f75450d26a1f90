// Import tasks (Glance's `tasks` rows): recorded, renewed while a copy holds its lock,
// finished, and listed per image until they expire.
#include <optional>
#include <set>
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

namespace {

constexpr const char* kTaskColumns =
    "SELECT id, image_id, type, status, owner, user_id, request_id, input, result, message, created_at, "
    "updated_at, expires_at FROM tasks ";

TaskRecord TaskFromRow(sql::Stmt& st) {
  TaskRecord t;
  t.id = st.Text(0);
  t.image_id = st.Text(1);
  t.type = st.Text(2);
  t.status = st.Text(3);
  t.owner = st.OptText(4);
  t.user_id = st.OptText(5);
  t.request_id = st.OptText(6);
  t.input_json = st.Text(7);
  t.result_json = st.OptText(8);
  t.message = st.Text(9);
  t.created_at = st.Int(10);
  t.updated_at = st.Int(11);
  t.expires_at = st.OptInt(12);
  return t;
}

// Steps `st` to the end, collecting its tasks.
Status CollectTasks(sql::Stmt& st, std::vector<TaskRecord>* out) {
  for (;;) {
    auto row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    out->push_back(TaskFromRow(st));
  }
}

}  // namespace

Result<std::vector<TaskRecord>> SqlCatalog::ListTasks(const std::string& image_id) {
  std::vector<TaskRecord> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    out.clear();  // a retried call starts again
    auto st = db.Prepare(std::string(kTaskColumns) +
                         "WHERE image_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC");
    if (!st.ok()) return st.status();
    st->Bind(1, image_id);
    st->Bind(2, NowMicros());
    return CollectTasks(*st, &out);
  });
  if (!s.ok()) return s;
  return out;
}

Result<TaskRecord> SqlCatalog::GetTask(const std::string& id) {
  std::optional<TaskRecord> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(std::string(kTaskColumns) + "WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)");
    if (!st.ok()) return st.status();
    st->Bind(1, id);
    st->Bind(2, NowMicros());
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (*row) out = TaskFromRow(*st);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (!out) return Status::NotFound("Task with the given id " + id + " not found");
  return std::move(*out);
}

Result<std::vector<TaskRecord>> SqlCatalog::QueryTasks(const TaskQuery& q) {
  static const std::set<std::string> kSortKeys = {"id", "type", "status", "created_at", "updated_at"};
  if (!kSortKeys.count(q.sort_key)) return Status::InvalidArgument("Sort key supplied is invalid: " + q.sort_key);
  // The column is one of the fixed names above: never text from the request.
  const std::string key = q.sort_key, dir = q.ascending ? " ASC" : " DESC", cmp = q.ascending ? ">" : "<";
  std::vector<TaskRecord> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    out.clear();
    std::optional<TaskRecord> marker;
    if (q.marker) {
      auto m = db.Prepare(std::string(kTaskColumns) + "WHERE id = ?");
      if (!m.ok()) return m.status();
      m->Bind(1, *q.marker);
      auto row = m->Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::InvalidArgument("Invalid marker. Task " + *q.marker + " could not be found.");
      marker = TaskFromRow(*m);
    }
    std::string sql = std::string(kTaskColumns) + "WHERE (expires_at IS NULL OR expires_at > ?)";
    if (q.owner) sql += " AND owner = ?";
    if (q.type) sql += " AND type = ?";
    if (q.status) sql += " AND status = ?";
    // Keyset paging on (key, id): the marker's row and everything before it are skipped.
    if (marker) sql += " AND (" + key + " " + cmp + " ? OR (" + key + " = ? AND id " + cmp + " ?))";
    sql += " ORDER BY " + key + dir + ", id" + dir + " LIMIT ?";
    auto st = db.Prepare(sql);
    if (!st.ok()) return st.status();
    int i = 1;
    st->Bind(i++, NowMicros());
    if (q.owner) st->Bind(i++, *q.owner);
    if (q.type) st->Bind(i++, *q.type);
    if (q.status) st->Bind(i++, *q.status);
    if (marker) {
      auto bind_key = [&] {
        if (key == "created_at") return st->Bind(i++, marker->created_at);
        if (key == "updated_at") return st->Bind(i++, marker->updated_at);
        const std::string& v = key == "id" ? marker->id : key == "type" ? marker->type : marker->status;
        return st->Bind(i++, v);
      };
      bind_key();
      bind_key();
      st->Bind(i++, marker->id);
    }
    st->Bind(i++, static_cast<int64_t>(q.limit));
    return CollectTasks(*st, &out);
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace glint::catalog
