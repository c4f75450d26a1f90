// IdentityStore on the catalog's SQLite database (own tables, own schema version).
#include <algorithm>
#include <mutex>
#include <set>

#include "auth/identity.h"
#include "auth/password_hash.h"
#include "common/ids.h"
#include "sql/sqlite_db.h"

namespace glint::auth {
namespace {

using sql::Db;
using sql::Stmt;

const std::vector<std::string> kSchema = {
    "CREATE TABLE IF NOT EXISTS identity_projects (id VARCHAR(64) NOT NULL PRIMARY KEY, "
    "name VARCHAR(255) NOT NULL UNIQUE, domain_id VARCHAR(64) NOT NULL, enabled SMALLINT NOT NULL, "
    "created_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS identity_users (id VARCHAR(64) NOT NULL PRIMARY KEY, "
    "name VARCHAR(255) NOT NULL UNIQUE, domain_id VARCHAR(64) NOT NULL, password_hash TEXT NOT NULL, "
    "default_project_id VARCHAR(64), enabled SMALLINT NOT NULL, created_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS identity_roles (id VARCHAR(64) NOT NULL PRIMARY KEY, "
    "name VARCHAR(255) NOT NULL UNIQUE)",
    "CREATE TABLE IF NOT EXISTS identity_assignments (user_id VARCHAR(64) NOT NULL, "
    "project_id VARCHAR(64) NOT NULL, role_id VARCHAR(64) NOT NULL, "
    "PRIMARY KEY (user_id, project_id, role_id))",
    "CREATE TABLE IF NOT EXISTS identity_token_keys (id INTEGER NOT NULL PRIMARY KEY, "
    "secret VARCHAR(128) NOT NULL, created_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS identity_limits (project_id VARCHAR(64) NOT NULL, "
    "resource VARCHAR(64) NOT NULL, value BIGINT NOT NULL, PRIMARY KEY (project_id, resource))",
    "CREATE TABLE IF NOT EXISTS identity_revocations (audit_id VARCHAR(64) NOT NULL PRIMARY KEY, "
    "expires_at BIGINT NOT NULL)",
    // Failed password logins per user and per source address (auth/password_login.h).
    "CREATE TABLE IF NOT EXISTS identity_login_failures (failure_key VARCHAR(255) NOT NULL PRIMARY KEY, "
    "failures INTEGER NOT NULL, last_failure_at BIGINT NOT NULL)",
};

std::string NewId() {
  std::string u = NewUuid();
  u.erase(std::remove(u.begin(), u.end(), '-'), u.end());
  return u;
}

class SqliteIdentity final : public IdentityStore {
 public:
  explicit SqliteIdentity(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  Status Init() {
    for (const auto& sql : kSchema) GLINT_RETURN_IF_ERROR(db_->Exec(sql));
    return Status::Ok();
  }

  Result<Project> CreateProject(const std::string& name) override {
    std::lock_guard<std::mutex> l(mu_);
    Project p{NewId(), name};
    auto st = db_->Prepare("INSERT INTO identity_projects (id, name, domain_id, enabled, created_at) VALUES (?,?,?,1,?)");
    if (!st.ok()) return st.status();
    st->Bind(1, p.id);
    st->Bind(2, p.name);
    st->Bind(3, p.domain_id);
    st->Bind(4, NowMicros());
    Status s = st->Run();
    if (s.code() == Status::Code::kConflict) return Status::Conflict("project " + name + " already exists");
    if (!s.ok()) return s;
    return p;
  }
  Result<Project> GetProject(const std::string& id) override { return OneProject("id", id); }
  Result<Project> FindProject(const std::string& name) override { return OneProject("name", name); }
  Result<std::vector<Project>> ListProjects() override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = db_->Prepare("SELECT id, name, domain_id, enabled FROM identity_projects ORDER BY name");
    if (!st.ok()) return st.status();
    std::vector<Project> out;
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.push_back({st->Text(0), st->Text(1), st->Text(2), st->Int(3) != 0});
    }
  }

  Result<User> CreateUser(const std::string& name, const std::string& password,
                          std::optional<std::string> default_project) override {
    std::lock_guard<std::mutex> l(mu_);
    User u{NewId(), name, "default", default_project, true};
    auto st = db_->Prepare(
        "INSERT INTO identity_users (id, name, domain_id, password_hash, default_project_id, enabled, created_at) "
        "VALUES (?,?,?,?,?,1,?)");
    if (!st.ok()) return st.status();
    st->Bind(1, u.id);
    st->Bind(2, u.name);
    st->Bind(3, u.domain_id);
    st->Bind(4, HashPassword(password));
    st->Bind(5, u.default_project_id);
    st->Bind(6, NowMicros());
    Status s = st->Run();
    if (s.code() == Status::Code::kConflict) return Status::Conflict("user " + name + " already exists");
    if (!s.ok()) return s;
    return u;
  }
  Result<User> GetUser(const std::string& id) override {
    auto r = OneUser("id", id);
    if (!r.ok()) return r.status();
    return r->first;
  }
  Result<User> FindUser(const std::string& name) override {
    auto r = OneUser("name", name);
    if (!r.ok()) return r.status();
    return r->first;
  }
  Result<std::vector<User>> ListUsers() override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = db_->Prepare("SELECT id, name, domain_id, default_project_id, enabled FROM identity_users ORDER BY name");
    if (!st.ok()) return st.status();
    std::vector<User> out;
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.push_back({st->Text(0), st->Text(1), st->Text(2), st->OptText(3), st->Int(4) != 0});
    }
  }
  Result<LoginRecord> FindLogin(const std::string& key, bool by_id) override {
    auto r = OneUser(by_id ? "id" : "name", key);
    if (!r.ok()) return r.status();
    return LoginRecord{r->first, r->second};
  }

  Result<int64_t> RecentLoginFailures(const std::string& key, int64_t since) override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = db_->Prepare(
        "SELECT failures, last_failure_at FROM identity_login_failures WHERE failure_key = ? AND last_failure_at > ?");
    if (!st.ok()) return st.status();
    st->Bind(1, key);
    st->Bind(2, since);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    return *row ? st->Int(0) : int64_t{0};
  }
  Status RecordLoginFailure(const std::string& key, int64_t now, int64_t since) override {
    std::lock_guard<std::mutex> l(mu_);
    GLINT_RETURN_IF_ERROR(UpsertFailure(key, now, since));
    // Bounded table: rows whose window has passed go, now and then (one write in 64).
    if (++failures_recorded_ % 64 != 0) return Status::Ok();
    auto prune = db_->Prepare("DELETE FROM identity_login_failures WHERE last_failure_at <= ?");
    if (!prune.ok()) return prune.status();
    prune->Bind(1, since);
    return prune->Run();
  }
  Status ClearLoginFailures(const std::string& key) override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = db_->Prepare("DELETE FROM identity_login_failures WHERE failure_key = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, key);
    return st->Run();
  }

  Result<Role> EnsureRole(const std::string& name) override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = db_->Prepare("SELECT id, name FROM identity_roles WHERE name = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, name);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (*row) return Role{st->Text(0), st->Text(1)};
    Role r{NewId(), name};
    auto ins = db_->Prepare("INSERT INTO identity_roles (id, name) VALUES (?,?)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, r.id);
    ins->Bind(2, r.name);
    GLINT_RETURN_IF_ERROR(ins->Run());
    return r;
  }
  Status AssignRole(const std::string& user_id, const std::string& project_id,
                    const std::string& role_name) override {
    auto role = EnsureRole(role_name);
    if (!role.ok()) return role.status();
    std::lock_guard<std::mutex> l(mu_);
    auto st = db_->Prepare(
        "INSERT INTO identity_assignments (user_id, project_id, role_id) SELECT ?, ?, ? "
        "WHERE NOT EXISTS (SELECT 1 FROM identity_assignments WHERE user_id = ? AND project_id = ? AND role_id = ?)");
    if (!st.ok()) return st.status();
    for (int base : {0, 3}) {
      st->Bind(base + 1, user_id);
      st->Bind(base + 2, project_id);
      st->Bind(base + 3, role->id);
    }
    return st->Run();
  }
  // Effective roles, with Keystone's default implications: admin implies member,
  // member implies reader (Glance's secure-RBAC rules rely on them).
  Result<std::vector<Role>> RolesOf(const std::string& user_id, const std::string& project_id) override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = db_->Prepare(
        "SELECT r.id, r.name FROM identity_assignments a JOIN identity_roles r ON r.id = a.role_id "
        "WHERE a.user_id = ? AND a.project_id = ? ORDER BY r.name");
    if (!st.ok()) return st.status();
    st->Bind(1, user_id);
    st->Bind(2, project_id);
    std::vector<Role> out;
    std::set<std::string> names;
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back({st->Text(0), st->Text(1)});
      names.insert(st->Text(1));
    }
    std::vector<std::string> implied;
    if (names.count("admin")) implied = {"member", "reader"};
    else if (names.count("member")) implied = {"reader"};
    for (const auto& name : implied) {
      if (names.count(name)) continue;
      auto q = db_->Prepare("SELECT id, name FROM identity_roles WHERE name = ?");
      if (!q.ok()) return q.status();
      q->Bind(1, name);
      auto row = q->Step();
      if (!row.ok()) return row.status();
      if (*row) out.push_back({q->Text(0), q->Text(1)});
    }
    return out;
  }
  Result<std::vector<Project>> ProjectsOf(const std::string& user_id) override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = db_->Prepare(
        "SELECT DISTINCT p.id, p.name, p.domain_id, p.enabled FROM identity_assignments a "
        "JOIN identity_projects p ON p.id = a.project_id WHERE a.user_id = ? ORDER BY p.name");
    if (!st.ok()) return st.status();
    st->Bind(1, user_id);
    std::vector<Project> out;
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.push_back({st->Text(0), st->Text(1), st->Text(2), st->Int(3) != 0});
    }
  }

  Result<int64_t> GetLimit(const std::string& project_id, const std::string& resource) override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = db_->Prepare(
        "SELECT value FROM identity_limits WHERE resource = ? AND project_id IN (?, '') "
        "ORDER BY project_id DESC LIMIT 1");
    if (!st.ok()) return st.status();
    st->Bind(1, resource);
    st->Bind(2, project_id);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    return *row ? st->Int(0) : int64_t{-1};
  }
  Status SetLimit(const std::string& project_id, const std::string& resource, int64_t value) override {
    std::lock_guard<std::mutex> l(mu_);
    auto del = db_->Prepare("DELETE FROM identity_limits WHERE project_id = ? AND resource = ?");
    if (!del.ok()) return del.status();
    del->Bind(1, project_id);
    del->Bind(2, resource);
    GLINT_RETURN_IF_ERROR(del->Run());
    auto ins = db_->Prepare("INSERT INTO identity_limits (project_id, resource, value) VALUES (?,?,?)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, project_id);
    ins->Bind(2, resource);
    ins->Bind(3, value);
    return ins->Run();
  }

  Result<std::vector<std::pair<int64_t, std::string>>> TokenKeys() override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = db_->Prepare("SELECT id, secret FROM identity_token_keys ORDER BY id");
    if (!st.ok()) return st.status();
    std::vector<std::pair<int64_t, std::string>> out;
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.emplace_back(st->Int(0), st->Text(1));
    }
  }
  Status AddTokenKey(const std::string& secret, int64_t now) override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = db_->Prepare(
        "INSERT INTO identity_token_keys (id, secret, created_at) "
        "SELECT COALESCE(MAX(id), 0) + 1, ?, ? FROM identity_token_keys");
    if (!st.ok()) return st.status();
    st->Bind(1, secret);
    st->Bind(2, now);
    return st->Run();
  }
  Status PruneTokenKeys(int64_t created_before, int keep_at_least) override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = db_->Prepare(
        "DELETE FROM identity_token_keys WHERE created_at < ? AND id NOT IN "
        "(SELECT id FROM identity_token_keys ORDER BY id DESC LIMIT ?)");
    if (!st.ok()) return st.status();
    st->Bind(1, created_before);
    st->Bind(2, static_cast<int64_t>(keep_at_least));
    return st->Run();
  }
  Status Revoke(const std::string& audit_id, int64_t expires_at) override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = db_->Prepare(
        "INSERT INTO identity_revocations (audit_id, expires_at) SELECT ?, ? "
        "WHERE NOT EXISTS (SELECT 1 FROM identity_revocations WHERE audit_id = ?)");
    if (!st.ok()) return st.status();
    st->Bind(1, audit_id);
    st->Bind(2, expires_at);
    st->Bind(3, audit_id);
    GLINT_RETURN_IF_ERROR(st->Run());
    auto prune = db_->Prepare("DELETE FROM identity_revocations WHERE expires_at < ?");
    if (!prune.ok()) return prune.status();
    prune->Bind(1, NowMicros());
    return prune->Run();
  }
  Result<bool> IsRevoked(const std::string& audit_id) override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = db_->Prepare("SELECT 1 FROM identity_revocations WHERE audit_id = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, audit_id);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    return *row;
  }

 private:
  Result<Project> OneProject(const char* column, const std::string& value) {
    std::lock_guard<std::mutex> l(mu_);
    auto st = db_->Prepare(std::string("SELECT id, name, domain_id, enabled FROM identity_projects WHERE ") +
                           column + " = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, value);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("Could not find project: " + value + ".");
    return Project{st->Text(0), st->Text(1), st->Text(2), st->Int(3) != 0};
  }
  Result<std::pair<User, std::string>> OneUser(const char* column, const std::string& value) {
    std::lock_guard<std::mutex> l(mu_);
    auto st = db_->Prepare(std::string("SELECT id, name, domain_id, default_project_id, enabled, password_hash "
                                       "FROM identity_users WHERE ") + column + " = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, value);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("Could not find user: " + value + ".");
    return std::make_pair(User{st->Text(0), st->Text(1), st->Text(2), st->OptText(3), st->Int(4) != 0},
                          st->Text(5));
  }

  // The one upsert: count a failure for `key`, starting again at 1 when the last one is
  // older than `since`. Plain SQL (an UPDATE, then an INSERT for a new key) so any SQL
  // backend runs it; another node inserting the same key first makes the INSERT conflict,
  // and the UPDATE is then retried once.
  Status UpsertFailure(const std::string& key, int64_t now, int64_t since) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto up = db_->Prepare(
          "UPDATE identity_login_failures SET failures = CASE WHEN last_failure_at <= ? THEN 1 "
          "ELSE failures + 1 END, last_failure_at = ? WHERE failure_key = ?");
      if (!up.ok()) return up.status();
      up->Bind(1, since);
      up->Bind(2, now);
      up->Bind(3, key);
      GLINT_RETURN_IF_ERROR(up->Run());
      if (db_->Changes() > 0) return Status::Ok();
      auto ins = db_->Prepare(
          "INSERT INTO identity_login_failures (failure_key, failures, last_failure_at) VALUES (?, 1, ?)");
      if (!ins.ok()) return ins.status();
      ins->Bind(1, key);
      ins->Bind(2, now);
      Status s = ins->Run();
      if (s.code() != Status::Code::kConflict) return s;
    }
    return Status::Ok();
  }

  std::mutex mu_;  // one connection; identity calls are rare next to image calls
  std::unique_ptr<Db> db_;
  uint64_t failures_recorded_ = 0;
};

}  // namespace

std::unique_ptr<IdentityStore> OpenIdentityStore(const std::string& connection, Status* status) {
  const std::string prefix = "sqlite:///";
  if (connection.rfind(prefix, 0) != 0) {
    *status = Status::InvalidArgument("identity needs a sqlite:/// catalog connection");
    return nullptr;
  }
  auto db = Db::Open(connection.substr(prefix.size()));
  if (!db.ok()) {
    *status = db.status();
    return nullptr;
  }
  auto store = std::make_unique<SqliteIdentity>(std::move(db).value());
  *status = store->Init();
  if (!status->ok()) return nullptr;
  return store;
}

}  // namespace glint::auth
