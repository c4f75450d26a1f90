// IdentityStore in the catalog's database, on any engine sql/ drives (own tables, own
// schema version in identity_schema). Calls borrow a connection from a pool, so token
// validation on many workers does not queue behind one connection.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>
#include <set>

#include "auth/identity.h"
#include "auth/password_hash.h"
#include "common/ids.h"
#include "common/random.h"
#include "sql/connection_pool.h"
#include "sql/migrations.h"

namespace glint::auth {
namespace {

using sql::Db;
using sql::Stmt;

// Version 1: the tables as they were before they were versioned (IF NOT EXISTS, so an
// existing SQLite catalog takes it as it is).
std::vector<std::string> V1Tables(const sql::Dialect& d) {
  const std::string o = d.TableOptions();
  return {
      "CREATE TABLE IF NOT EXISTS identity_projects (id VARCHAR(64) NOT NULL PRIMARY KEY, "
      "name VARCHAR(255) NOT NULL UNIQUE, domain_id VARCHAR(64) NOT NULL, enabled SMALLINT NOT NULL, "
      "created_at BIGINT NOT NULL)" + o,
      "CREATE TABLE IF NOT EXISTS identity_users (id VARCHAR(64) NOT NULL PRIMARY KEY, "
      "name VARCHAR(255) NOT NULL UNIQUE, domain_id VARCHAR(64) NOT NULL, password_hash TEXT NOT NULL, "
      "default_project_id VARCHAR(64), enabled SMALLINT NOT NULL, created_at BIGINT NOT NULL)" + o,
      "CREATE TABLE IF NOT EXISTS identity_roles (id VARCHAR(64) NOT NULL PRIMARY KEY, "
      "name VARCHAR(255) NOT NULL UNIQUE)" + o,
      "CREATE TABLE IF NOT EXISTS identity_assignments (user_id VARCHAR(64) NOT NULL, "
      "project_id VARCHAR(64) NOT NULL, role_id VARCHAR(64) NOT NULL, "
      "PRIMARY KEY (user_id, project_id, role_id))" + o,
      "CREATE TABLE IF NOT EXISTS identity_token_keys (id INTEGER NOT NULL PRIMARY KEY, "
      "secret VARCHAR(128) NOT NULL, created_at BIGINT NOT NULL)" + o,
      "CREATE TABLE IF NOT EXISTS identity_limits (project_id VARCHAR(64) NOT NULL, "
      "resource VARCHAR(64) NOT NULL, value BIGINT NOT NULL, PRIMARY KEY (project_id, resource))" + o,
      "CREATE TABLE IF NOT EXISTS identity_revocations (audit_id VARCHAR(64) NOT NULL PRIMARY KEY, "
      "expires_at BIGINT NOT NULL)" + o,
  };
}

// Version 2: failed password logins per user and per source address (auth/password_login.h).
std::vector<std::string> V2LoginFailures(const sql::Dialect& d) {
  return {"CREATE TABLE IF NOT EXISTS identity_login_failures (failure_key VARCHAR(255) NOT NULL PRIMARY KEY, "
          "failures INTEGER NOT NULL, last_failure_at BIGINT NOT NULL)" + d.TableOptions()};
}

const sql::Schema& IdentitySchema() {
  static const sql::Schema schema{"identity", "identity_schema", {V1Tables, V2LoginFailures}};
  return schema;
}

std::string NewId() {
  std::string u = NewUuid();
  u.erase(std::remove(u.begin(), u.end(), '-'), u.end());
  return u;
}

class SqlIdentity final : public IdentityStore {
 public:
  SqlIdentity(sql::ConnectionSpec spec, size_t max_open) : pool_(std::move(spec), max_open) {}

  // Brings the schema up to date (`migrate`) or requires it to be current.
  Status Init(bool migrate) {
    return pool_.WithDb([&](Db& db) -> Status {
      return migrate ? sql::Migrate(db, IdentitySchema()).status() : sql::RequireCurrent(db, IdentitySchema());
    });
  }

  Result<Project> CreateProject(const std::string& name) override {
    return Run<Project>([&](Db& db) -> Result<Project> {
    Project p{NewId(), name};
    auto st = db.Prepare("INSERT INTO identity_projects (id, name, domain_id, enabled, created_at) VALUES (?,?,?,1,?)");
    if (!st.ok()) return st.status();
    st->Bind(1, p.id);
    st->Bind(2, p.name);
    st->Bind(3, p.domain_id);
    st->Bind(4, NowMicros());
    Status s = st->Run();
    if (s.code() == Status::Code::kConflict) return Status::Conflict("project " + name + " already exists");
    if (!s.ok()) return s;
    return p;
    });
  }
  Result<Project> GetProject(const std::string& id) override { return OneProject("id", id); }
  Result<Project> FindProject(const std::string& name) override { return OneProject("name", name); }
  Result<std::vector<Project>> ListProjects() override {
    return Run<std::vector<Project>>([&](Db& db) -> Result<std::vector<Project>> {
    auto st = db.Prepare("SELECT id, name, domain_id, enabled FROM identity_projects ORDER BY name");
    if (!st.ok()) return st.status();
    std::vector<Project> out;
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.push_back({st->Text(0), st->Text(1), st->Text(2), st->Int(3) != 0});
    }
    });
  }

  Result<User> CreateUser(const std::string& name, const std::string& password,
                          std::optional<std::string> default_project) override {
    return Run<User>([&](Db& db) -> Result<User> {
    User u{NewId(), name, "default", default_project, true};
    auto st = db.Prepare(
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
    });
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
    return Run<std::vector<User>>([&](Db& db) -> Result<std::vector<User>> {
    auto st = db.Prepare("SELECT id, name, domain_id, default_project_id, enabled FROM identity_users ORDER BY name");
    if (!st.ok()) return st.status();
    std::vector<User> out;
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.push_back({st->Text(0), st->Text(1), st->Text(2), st->OptText(3), st->Int(4) != 0});
    }
    });
  }
  Result<LoginRecord> FindLogin(const std::string& key, bool by_id) override {
    auto r = OneUser(by_id ? "id" : "name", key);
    if (!r.ok()) return r.status();
    return LoginRecord{r->first, r->second};
  }

  Result<int64_t> RecentLoginFailures(const std::string& key, int64_t since) override {
    return Run<int64_t>([&](Db& db) -> Result<int64_t> {
      auto st = db.Prepare(
          "SELECT failures FROM identity_login_failures WHERE failure_key = ? AND last_failure_at > ?");
      if (!st.ok()) return st.status();
      st->Bind(1, key);
      st->Bind(2, since);
      auto row = st->Step();
      if (!row.ok()) return row.status();
      return *row ? st->Int(0) : int64_t{0};
    });
  }
  Status RecordLoginFailure(const std::string& key, int64_t now, int64_t since) override {
    bool prune = ++failures_recorded_ % 64 == 0;  // bounded table: expired rows go now and then
    return pool_.WithDb([&](Db& db) -> Status {
      GLINT_RETURN_IF_ERROR(UpsertFailure(db, key, now, since));
      if (!prune) return Status::Ok();
      auto del = db.Prepare("DELETE FROM identity_login_failures WHERE last_failure_at <= ?");
      if (!del.ok()) return del.status();
      del->Bind(1, since);
      return del->Run();
    });
  }
  Status ClearLoginFailures(const std::string& key) override {
    return pool_.WithDb([&](Db& db) -> Status {
      auto st = db.Prepare("DELETE FROM identity_login_failures WHERE failure_key = ?");
      if (!st.ok()) return st.status();
      st->Bind(1, key);
      return st->Run();
    });
  }

  Result<Role> EnsureRole(const std::string& name) override {
    return Run<Role>([&](Db& db) -> Result<Role> {
    auto st = db.Prepare("SELECT id, name FROM identity_roles WHERE name = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, name);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (*row) return Role{st->Text(0), st->Text(1)};
    Role r{NewId(), name};
    auto ins = db.Prepare("INSERT INTO identity_roles (id, name) VALUES (?,?)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, r.id);
    ins->Bind(2, r.name);
    GLINT_RETURN_IF_ERROR(ins->Run());
    return r;
    });
  }
  Status AssignRole(const std::string& user_id, const std::string& project_id,
                    const std::string& role_name) override {
    auto role = EnsureRole(role_name);
    if (!role.ok()) return role.status();
    return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(db.dialect().InsertIgnore() +
                         " INTO identity_assignments (user_id, project_id, role_id) VALUES (?, ?, ?)");
    if (!st.ok()) return st.status();
    st->Bind(1, user_id);
    st->Bind(2, project_id);
    st->Bind(3, role->id);
    return st->Run();
    });
  }
  // Effective roles, with Keystone's default implications: admin implies member,
  // member implies reader (Glance's secure-RBAC rules rely on them).
  Result<std::vector<Role>> RolesOf(const std::string& user_id, const std::string& project_id) override {
    return Run<std::vector<Role>>([&](Db& db) -> Result<std::vector<Role>> {
    auto st = db.Prepare(
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
      auto q = db.Prepare("SELECT id, name FROM identity_roles WHERE name = ?");
      if (!q.ok()) return q.status();
      q->Bind(1, name);
      auto row = q->Step();
      if (!row.ok()) return row.status();
      if (*row) out.push_back({q->Text(0), q->Text(1)});
    }
    return out;
    });
  }
  Result<std::vector<Project>> ProjectsOf(const std::string& user_id) override {
    return Run<std::vector<Project>>([&](Db& db) -> Result<std::vector<Project>> {
    auto st = db.Prepare(
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
    });
  }

  Result<int64_t> GetLimit(const std::string& project_id, const std::string& resource) override {
    return Run<int64_t>([&](Db& db) -> Result<int64_t> {
    auto st = db.Prepare(
        "SELECT value FROM identity_limits WHERE resource = ? AND project_id IN (?, '') "
        "ORDER BY project_id DESC LIMIT 1");
    if (!st.ok()) return st.status();
    st->Bind(1, resource);
    st->Bind(2, project_id);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    return *row ? st->Int(0) : int64_t{-1};
    });
  }
  Status SetLimit(const std::string& project_id, const std::string& resource, int64_t value) override {
    return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare("INSERT INTO identity_limits (project_id, resource, value) VALUES (?,?,?)" +
                         db.dialect().UpsertClause("project_id, resource", "value"));
    if (!st.ok()) return st.status();
    st->Bind(1, project_id);
    st->Bind(2, resource);
    st->Bind(3, value);
    return st->Run();
    });
  }

  Result<std::vector<std::pair<int64_t, std::string>>> TokenKeys() override {
    return Run<std::vector<std::pair<int64_t, std::string>>>([&](Db& db) -> Result<std::vector<std::pair<int64_t, std::string>>> {
    auto st = db.Prepare("SELECT id, secret FROM identity_token_keys ORDER BY id");
    if (!st.ok()) return st.status();
    std::vector<std::pair<int64_t, std::string>> out;
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.emplace_back(st->Int(0), st->Text(1));
    }
    });
  }
  Status AddTokenKey(const std::string& secret, int64_t now) override {
    return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(
        "INSERT INTO identity_token_keys (id, secret, created_at) "
        "SELECT COALESCE(MAX(id), 0) + 1, ?, ? FROM identity_token_keys");
    if (!st.ok()) return st.status();
    st->Bind(1, secret);
    st->Bind(2, now);
    return st->Run();
    });
  }
  Status PruneTokenKeys(int64_t created_before, int keep_at_least) override {
    return pool_.WithDb([&](Db& db) -> Status {
    // The newest keep_at_least keys stay: find the oldest of them first (MySQL cannot
    // read the table it deletes from in a subquery, nor LIMIT inside IN).
    auto keep = db.Prepare("SELECT id FROM identity_token_keys ORDER BY id DESC LIMIT 1 OFFSET ?");
    if (!keep.ok()) return keep.status();
    keep->Bind(1, static_cast<int64_t>(keep_at_least > 0 ? keep_at_least - 1 : 0));
    auto row = keep->Step();
    if (!row.ok()) return row.status();
    if (keep_at_least > 0 && !*row) return Status::Ok();  // fewer keys than that: none goes
    int64_t oldest_kept = keep_at_least > 0 ? keep->Int(0) : INT64_MAX;
    auto st = db.Prepare("DELETE FROM identity_token_keys WHERE created_at < ? AND id < ?");
    if (!st.ok()) return st.status();
    st->Bind(1, created_before);
    st->Bind(2, oldest_kept);
    return st->Run();
    });
  }
  Status Revoke(const std::string& audit_id, int64_t expires_at) override {
    return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(db.dialect().InsertIgnore() +
                         " INTO identity_revocations (audit_id, expires_at) VALUES (?, ?)");
    if (!st.ok()) return st.status();
    st->Bind(1, audit_id);
    st->Bind(2, expires_at);
    GLINT_RETURN_IF_ERROR(st->Run());
    auto prune = db.Prepare("DELETE FROM identity_revocations WHERE expires_at < ?");
    if (!prune.ok()) return prune.status();
    prune->Bind(1, NowMicros());
    return prune->Run();
    });
  }
  Result<bool> IsRevoked(const std::string& audit_id) override {
    return Run<bool>([&](Db& db) -> Result<bool> {
    auto st = db.Prepare("SELECT 1 FROM identity_revocations WHERE audit_id = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, audit_id);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    return *row;
    });
  }

 private:
  Result<Project> OneProject(const char* column, const std::string& value) {
    return Run<Project>([&](Db& db) -> Result<Project> {
    auto st = db.Prepare(std::string("SELECT id, name, domain_id, enabled FROM identity_projects WHERE ") +
                           column + " = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, value);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("Could not find project: " + value + ".");
    return Project{st->Text(0), st->Text(1), st->Text(2), st->Int(3) != 0};
    });
  }
  Result<std::pair<User, std::string>> OneUser(const char* column, const std::string& value) {
    return Run<std::pair<User, std::string>>([&](Db& db) -> Result<std::pair<User, std::string>> {
    auto st = db.Prepare(std::string("SELECT id, name, domain_id, default_project_id, enabled, password_hash "
                                       "FROM identity_users WHERE ") + column + " = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, value);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("Could not find user: " + value + ".");
    return std::make_pair(User{st->Text(0), st->Text(1), st->Text(2), st->OptText(3), st->Int(4) != 0},
                          st->Text(5));
    });
  }

  // fn(db) on a pooled connection, run again by the pool after a rolled-back transaction.
  template <typename T, typename Fn>
  Result<T> Run(Fn&& fn) {
    std::optional<Result<T>> out;
    Status s = pool_.WithDb([&](Db& db) -> Status {
      out.emplace(fn(db));
      return out->ok() ? Status::Ok() : out->status();
    });
    if (!s.ok()) return s;
    return std::move(*out);
  }

  // The one upsert: count a failure for `key`, starting again at 1 when the last one is
  // older than `since`. Plain SQL (an UPDATE, then an INSERT for a new key) so any SQL
  // backend runs it; another node inserting the same key first makes the INSERT conflict,
  // and the UPDATE is then retried once.
  static Status UpsertFailure(Db& db, const std::string& key, int64_t now, int64_t since) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto up = db.Prepare(
          "UPDATE identity_login_failures SET failures = CASE WHEN last_failure_at <= ? THEN 1 "
          "ELSE failures + 1 END, last_failure_at = ? WHERE failure_key = ?");
      if (!up.ok()) return up.status();
      up->Bind(1, since);
      up->Bind(2, now);
      up->Bind(3, key);
      GLINT_RETURN_IF_ERROR(up->Run());
      if (db.Changes() > 0) return Status::Ok();
      auto ins = db.Prepare(
          "INSERT INTO identity_login_failures (failure_key, failures, last_failure_at) VALUES (?, 1, ?)");
      if (!ins.ok()) return ins.status();
      ins->Bind(1, key);
      ins->Bind(2, now);
      Status s = ins->Run();
      if (s.code() != Status::Code::kConflict) return s;
    }
    return Status::Ok();
  }

  sql::ConnectionPool pool_;
  std::atomic<uint64_t> failures_recorded_{0};
};

}  // namespace

std::unique_ptr<IdentityStore> OpenIdentityStore(const std::string& connection, Status* status) {
  auto spec = sql::ParseConnectionUrl(connection);
  if (!spec.ok()) {
    *status = Status::InvalidArgument("identity: " + spec.status().message());
    return nullptr;
  }
  // A private in-memory database exists once per connection: keep to one.
  size_t max_open = spec->engine == "sqlite" && spec->path == ":memory:" ? 1 : 0;
  auto store = std::make_unique<SqlIdentity>(*spec, max_open);
  *status = store->Init(/*migrate=*/spec->engine == "sqlite");
  if (!status->ok()) return nullptr;
  return store;
}

Result<int64_t> SyncIdentitySchema(const std::string& connection) {
  auto spec = sql::ParseConnectionUrl(connection);
  if (!spec.ok()) return spec.status();
  sql::ConnectionPool pool(*spec, 1);
  auto db = pool.Acquire();
  if (!db.ok()) return db.status();
  return sql::Migrate(**db, IdentitySchema());
}

Result<int64_t> IdentitySchemaVersion(const std::string& connection) {
  auto spec = sql::ParseConnectionUrl(connection);
  if (!spec.ok()) return spec.status();
  sql::ConnectionPool pool(*spec, 1);
  auto db = pool.Acquire();
  if (!db.ok()) return db.status();
  return sql::SchemaVersion(**db, IdentitySchema());
}

int64_t LatestIdentitySchemaVersion() { return IdentitySchema().latest(); }

}  // namespace glint::auth
