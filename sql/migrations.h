// Versioned schemas: a list of steps, each moving a schema from version N to N + 1, and
// the table (one row per applied step) that records how far a database has come. Used by
// the catalog (glint_schema) and the identity store (identity_schema); applied by
// `glint-manage db-sync`, and at start-up on SQLite.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "sql/db.h"

namespace glint::sql {

// The statements of one step, in the engine's dialect.
using Migration = std::function<std::vector<std::string>(const Dialect&)>;

struct Schema {
  std::string name;           // for messages: "catalog", "identity"
  std::string version_table;  // e.g. "glint_schema"
  std::vector<Migration> steps;
  int64_t latest() const { return static_cast<int64_t>(steps.size()); }
};

// The version a database is at; 0 when it has none of this schema yet.
Result<int64_t> SchemaVersion(Db& db, const Schema& schema);

// Applies every step newer than the database's version, each in its own transaction
// with its version row. On MariaDB DDL commits implicitly, so a step cut short leaves
// part of its tables behind and is not recorded: re-running it stops on them unless the
// step uses IF NOT EXISTS (the identity step does; the catalog's do not yet).
// Returns the version reached; an error when the database
// is newer than this Glint.
Result<int64_t> Migrate(Db& db, const Schema& schema);

// Ok only when the database is exactly at schema.latest(); otherwise a message telling
// the operator what to do (run db-sync, or upgrade Glint).
Status RequireCurrent(Db& db, const Schema& schema);

}  // namespace glint::sql
