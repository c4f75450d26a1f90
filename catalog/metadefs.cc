// Metadata definitions: namespaces (with their cascades on rename and delete), resource
// types and namespace-resource-type associations.
#include <optional>
#include <string>
#include <vector>

#include "catalog/metadef_rows.h"
#include "catalog/sql_catalog.h"

namespace glint::catalog {

using sql::Db;
using sql::Transaction;

namespace {

constexpr const char* kNamespaceColumns =
    "namespace, display_name, description, visibility, protected, owner, created_at, updated_at";

MetadefNamespace ReadNamespace(const sql::Stmt& st) {
  MetadefNamespace ns;
  ns.name = st.Text(0);
  ns.display_name = st.OptText(1);
  ns.description = st.OptText(2);
  ns.visibility = st.Text(3);
  ns.is_protected = st.Int(4) != 0;
  ns.owner = st.OptText(5);
  ns.created_at = st.Int(6);
  ns.updated_at = st.Int(7);
  return ns;
}

// Every table whose rows belong to a namespace.
constexpr const char* kChildTables[] = {"metadef_objects", "metadef_properties", "metadef_tags",
                                        "metadef_namespace_resource_types"};

Status AssociationNotFound(const std::string& ns, const std::string& type) {
  return Status::NotFound("The metadata definition resource-type association of resource-type=" +
                          type + " to namespace=" + ns + ", was not found.");
}

}  // namespace

Status SqlCatalog::CreateMetadefNamespace(const MetadefNamespace& ns,
                                          const std::vector<MetadefItem>& contents) {
  return pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    auto st = db.Prepare(std::string("INSERT INTO metadef_namespaces (") + kNamespaceColumns +
                         ") VALUES (?,?,?,?,?,?,?,?)");
    if (!st.ok()) return st.status();
    st->Bind(1, ns.name);
    st->Bind(2, ns.display_name);
    st->Bind(3, ns.description);
    st->Bind(4, ns.visibility);
    st->Bind(5, ns.is_protected);
    st->Bind(6, ns.owner);
    st->Bind(7, ns.created_at);
    st->Bind(8, ns.updated_at);
    Status s = st->Run();
    if (s.code() == Status::Code::kConflict) {
      return Status::Conflict("The metadata definition namespace=" + ns.name + " already exists.");
    }
    GLINT_RETURN_IF_ERROR(s);
    for (const MetadefItem& item : contents) {
      MetadefItem in = item;
      in.namespace_name = ns.name;
      GLINT_RETURN_IF_ERROR(InsertMetadefItem(db, in));
    }
    return tx.Commit();
  });
}

Result<MetadefNamespace> SqlCatalog::GetMetadefNamespace(const std::string& name) {
  std::optional<MetadefNamespace> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(std::string("SELECT ") + kNamespaceColumns +
                         " FROM metadef_namespaces WHERE namespace = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, name);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return MetadefNamespaceNotFound(name);
    out = ReadNamespace(*st);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return std::move(*out);
}

Result<std::vector<MetadefNamespace>> SqlCatalog::ListMetadefNamespaces() {
  std::vector<MetadefNamespace> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    out.clear();
    auto st = db.Prepare(std::string("SELECT ") + kNamespaceColumns +
                         " FROM metadef_namespaces ORDER BY namespace");
    if (!st.ok()) return st.status();
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::Ok();
      out.push_back(ReadNamespace(*st));
    }
  });
  if (!s.ok()) return s;
  return out;
}

Status SqlCatalog::UpdateMetadefNamespace(const std::string& name, const MetadefNamespace& ns) {
  return pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    auto st = db.Prepare(
        "UPDATE metadef_namespaces SET namespace = ?, display_name = ?, description = ?, "
        "visibility = ?, protected = ?, owner = ?, updated_at = ? WHERE namespace = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, ns.name);
    st->Bind(2, ns.display_name);
    st->Bind(3, ns.description);
    st->Bind(4, ns.visibility);
    st->Bind(5, ns.is_protected);
    st->Bind(6, ns.owner);
    st->Bind(7, ns.updated_at);
    st->Bind(8, name);
    Status s = st->Run();
    if (s.code() == Status::Code::kConflict) {
      return Status::Conflict("The metadata definition namespace=" + ns.name + " already exists.");
    }
    GLINT_RETURN_IF_ERROR(s);
    if (db.Changes() == 0) return MetadefNamespaceNotFound(name);
    if (ns.name != name) {
      for (const char* table : kChildTables) {
        auto up = db.Prepare(std::string("UPDATE ") + table + " SET namespace = ? WHERE namespace = ?");
        if (!up.ok()) return up.status();
        up->Bind(1, ns.name);
        up->Bind(2, name);
        GLINT_RETURN_IF_ERROR(up->Run());
      }
    }
    return tx.Commit();
  });
}

Status SqlCatalog::DeleteMetadefNamespace(const std::string& name) {
  return pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    for (const char* table : kChildTables) {
      auto del = db.Prepare(std::string("DELETE FROM ") + table + " WHERE namespace = ?");
      if (!del.ok()) return del.status();
      del->Bind(1, name);
      GLINT_RETURN_IF_ERROR(del->Run());
    }
    auto st = db.Prepare("DELETE FROM metadef_namespaces WHERE namespace = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, name);
    GLINT_RETURN_IF_ERROR(st->Run());
    if (db.Changes() == 0) return MetadefNamespaceNotFound(name);
    return tx.Commit();
  });
}

Result<std::vector<MetadefResourceType>> SqlCatalog::ListMetadefResourceTypes() {
  std::vector<MetadefResourceType> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    out.clear();
    auto st = db.Prepare(
        "SELECT name, protected, created_at, updated_at FROM metadef_resource_types ORDER BY name");
    if (!st.ok()) return st.status();
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::Ok();
      out.push_back({st->Text(0), st->Int(1) != 0, st->Int(2), st->Int(3)});
    }
  });
  if (!s.ok()) return s;
  return out;
}

Status SqlCatalog::EnsureMetadefResourceType(const MetadefResourceType& type) {
  return pool_.WithDb([&](Db& db) -> Status { return InsertResourceType(db, type); });
}

Status SqlCatalog::CreateMetadefAssociation(const MetadefAssociation& a) {
  return pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    {
      auto ns = db.Prepare("SELECT 1 FROM metadef_namespaces WHERE namespace = ?");
      if (!ns.ok()) return ns.status();
      ns->Bind(1, a.namespace_name);
      auto row = ns->Step();
      if (!row.ok()) return row.status();
      if (!*row) return MetadefNamespaceNotFound(a.namespace_name);
    }
    GLINT_RETURN_IF_ERROR(InsertResourceType(db, {a.resource_type, false, a.created_at, a.created_at}));
    auto st = db.Prepare(
        "INSERT INTO metadef_namespace_resource_types (namespace, resource_type, "
        "properties_target, prefix, created_at, updated_at) VALUES (?,?,?,?,?,?)");
    if (!st.ok()) return st.status();
    st->Bind(1, a.namespace_name);
    st->Bind(2, a.resource_type);
    st->Bind(3, a.properties_target);
    st->Bind(4, a.prefix);
    st->Bind(5, a.created_at);
    st->Bind(6, a.updated_at);
    Status s = st->Run();
    if (s.code() == Status::Code::kConflict) {
      return Status::Conflict("The metadata definition resource-type association of resource-type=" +
                              a.resource_type + " to namespace=" + a.namespace_name +
                              " already exists.");
    }
    GLINT_RETURN_IF_ERROR(s);
    return tx.Commit();
  });
}

Result<std::vector<MetadefAssociation>> SqlCatalog::ListMetadefAssociations(
    const std::optional<std::string>& ns) {
  std::vector<MetadefAssociation> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    out.clear();
    auto st = db.Prepare(std::string(
        "SELECT namespace, resource_type, prefix, properties_target, created_at, updated_at "
        "FROM metadef_namespace_resource_types") +
        (ns ? " WHERE namespace = ?" : "") + " ORDER BY namespace, resource_type");
    if (!st.ok()) return st.status();
    if (ns) st->Bind(1, *ns);
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::Ok();
      out.push_back({st->Text(0), st->Text(1), st->OptText(2), st->OptText(3), st->Int(4), st->Int(5)});
    }
  });
  if (!s.ok()) return s;
  return out;
}

Status SqlCatalog::DeleteMetadefAssociation(const std::string& ns, const std::string& type) {
  return pool_.WithDb([&](Db& db) -> Status {
    auto st = db.Prepare(
        "DELETE FROM metadef_namespace_resource_types WHERE namespace = ? AND resource_type = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, ns);
    st->Bind(2, type);
    GLINT_RETURN_IF_ERROR(st->Run());
    if (db.Changes() == 0) return AssociationNotFound(ns, type);
    return Status::Ok();
  });
}

}  // namespace glint::catalog
