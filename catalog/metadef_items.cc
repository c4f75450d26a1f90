// Metadata definition items: the objects, properties and tags of a namespace.
#include <optional>
#include <string>
#include <vector>

#include "catalog/metadef_rows.h"
#include "catalog/sql_catalog.h"

namespace glint::catalog {

using sql::Db;
using sql::Transaction;

const char* MetadefTable(MetadefKind kind) {
  switch (kind) {
    case MetadefKind::kObject: return "metadef_objects";
    case MetadefKind::kProperty: return "metadef_properties";
    case MetadefKind::kTag: return "metadef_tags";
  }
  return "metadef_objects";
}

Status MetadefNamespaceNotFound(const std::string& name) {
  return Status::NotFound("Metadata definition namespace=" + name + " was not found.");
}

Status MetadefItemNotFound(MetadefKind kind, const std::string& ns, const std::string& name) {
  const char* what = kind == MetadefKind::kObject ? "object" : kind == MetadefKind::kProperty ? "property" : "tag";
  return Status::NotFound(std::string("The metadata definition ") + what + " with name=" + name +
                          " was not found in namespace=" + ns + ".");
}

Status MetadefItemDuplicate(MetadefKind kind, const std::string& ns, const std::string& name) {
  switch (kind) {
    case MetadefKind::kObject:
      return Status::Conflict("A metadata definition object with name=" + name +
                              " already exists in namespace=" + ns + ".");
    case MetadefKind::kProperty:
      return Status::Conflict("A metadata definition property with name=" + name +
                              " already exists in namespace=" + ns + ".");
    case MetadefKind::kTag: break;
  }
  return Status::Conflict("A metadata tag with name=" + name + " already exists in namespace=" + ns +
                          ". (Please note that metadata tag names are case insensitive).");
}

Status InsertMetadefItem(Db& db, const MetadefItem& item) {
  auto st = db.Prepare(std::string("INSERT INTO ") + MetadefTable(item.kind) +
                       " (namespace, name, body, created_at, updated_at) VALUES (?,?,?,?,?)");
  if (!st.ok()) return st.status();
  st->Bind(1, item.namespace_name);
  st->Bind(2, item.name);
  st->Bind(3, item.body);
  st->Bind(4, item.created_at);
  st->Bind(5, item.updated_at);
  Status s = st->Run();
  if (s.code() == Status::Code::kConflict) return MetadefItemDuplicate(item.kind, item.namespace_name, item.name);
  return s;
}

Status InsertResourceType(Db& db, const MetadefResourceType& type) {
  auto st = db.Prepare(db.dialect().InsertIgnore() +
                       " INTO metadef_resource_types (name, protected, created_at, updated_at) "
                       "VALUES (?,?,?,?)");
  if (!st.ok()) return st.status();
  st->Bind(1, type.name);
  st->Bind(2, type.is_protected);
  st->Bind(3, type.created_at);
  st->Bind(4, type.updated_at);
  return st->Run();
}

namespace {

// NotFound unless namespace `ns` exists.
Status RequireNamespace(Db& db, const std::string& ns) {
  auto st = db.Prepare("SELECT 1 FROM metadef_namespaces WHERE namespace = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, ns);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  return *row ? Status::Ok() : MetadefNamespaceNotFound(ns);
}

MetadefItem ReadItem(MetadefKind kind, const sql::Stmt& st) {
  return {kind, st.Text(0), st.Text(1), st.Text(2), st.Int(3), st.Int(4)};
}

}  // namespace

Status SqlCatalog::CreateMetadefItem(const MetadefItem& item) {
  return pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    GLINT_RETURN_IF_ERROR(RequireNamespace(db, item.namespace_name));
    GLINT_RETURN_IF_ERROR(InsertMetadefItem(db, item));
    return tx.Commit();
  });
}

Result<MetadefItem> SqlCatalog::GetMetadefItem(MetadefKind kind, const std::string& ns,
                                               const std::string& name) {
  std::optional<MetadefItem> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(std::string("SELECT namespace, name, body, created_at, updated_at FROM ") +
                         MetadefTable(kind) + " WHERE namespace = ? AND name = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, ns);
    st->Bind(2, name);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return MetadefItemNotFound(kind, ns, name);
    out = ReadItem(kind, *st);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return std::move(*out);
}

Result<std::vector<MetadefItem>> SqlCatalog::ListMetadefItems(MetadefKind kind, const std::string& ns) {
  std::vector<MetadefItem> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    out.clear();
    GLINT_RETURN_IF_ERROR(RequireNamespace(db, ns));
    auto st = db.Prepare(std::string("SELECT namespace, name, body, created_at, updated_at FROM ") +
                         MetadefTable(kind) + " WHERE namespace = ? ORDER BY created_at, name");
    if (!st.ok()) return st.status();
    st->Bind(1, ns);
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::Ok();
      out.push_back(ReadItem(kind, *st));
    }
  });
  if (!s.ok()) return s;
  return out;
}

Status SqlCatalog::UpdateMetadefItem(const std::string& name, const MetadefItem& item) {
  return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(std::string("UPDATE ") + MetadefTable(item.kind) +
                         " SET name = ?, body = ?, updated_at = ? WHERE namespace = ? AND name = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, item.name);
    st->Bind(2, item.body);
    st->Bind(3, item.updated_at);
    st->Bind(4, item.namespace_name);
    st->Bind(5, name);
    Status s = st->Run();
    if (s.code() == Status::Code::kConflict) return MetadefItemDuplicate(item.kind, item.namespace_name, item.name);
    GLINT_RETURN_IF_ERROR(s);
    if (db.Changes() == 0) return MetadefItemNotFound(item.kind, item.namespace_name, name);
    return Status::Ok();
  });
}

Status SqlCatalog::DeleteMetadefItem(MetadefKind kind, const std::string& ns, const std::string& name) {
  return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(std::string("DELETE FROM ") + MetadefTable(kind) +
                         " WHERE namespace = ? AND name = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, ns);
    st->Bind(2, name);
    GLINT_RETURN_IF_ERROR(st->Run());
    if (db.Changes() == 0) return MetadefItemNotFound(kind, ns, name);
    return Status::Ok();
  });
}

Status SqlCatalog::ReplaceMetadefItems(MetadefKind kind, const std::string& ns,
                                       const std::vector<MetadefItem>& items, bool append) {
  return pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    GLINT_RETURN_IF_ERROR(RequireNamespace(db, ns));
    if (!append) {
      auto del = db.Prepare(std::string("DELETE FROM ") + MetadefTable(kind) + " WHERE namespace = ?");
      if (!del.ok()) return del.status();
      del->Bind(1, ns);
      GLINT_RETURN_IF_ERROR(del->Run());
    }
    for (const MetadefItem& item : items) {
      MetadefItem in = item;
      in.kind = kind;
      in.namespace_name = ns;
      GLINT_RETURN_IF_ERROR(InsertMetadefItem(db, in));
    }
    return tx.Commit();
  });
}

}  // namespace glint::catalog
