#include "control/json_patch.h"

#include <algorithm>

#include "control/image_attributes.h"

namespace glint::control {

using nlohmann::json;

namespace {

// "/name" with JSON pointer escapes; one level only.
Result<std::string> DecodePointer(const std::string& path) {
  if (path.empty() || path[0] != '/') return Status::InvalidArgument("Pointer `" + path + "` does not start with \"/\".");
  std::string root = path.substr(1);
  if (root.find('/') != std::string::npos) {
    return Status::InvalidArgument("Invalid JSON pointer for this resource: '" + path + "'");
  }
  std::string decoded;
  for (size_t i = 0; i < root.size(); ++i) {
    if (root[i] == '~' && i + 1 < root.size() && (root[i + 1] == '0' || root[i + 1] == '1')) {
      decoded.push_back(root[i + 1] == '0' ? '~' : '/');
      ++i;
    } else if (root[i] == '~') {
      return Status::InvalidArgument("Invalid JSON pointer escape in '" + path + "'");
    } else {
      decoded.push_back(root[i]);
    }
  }
  return decoded;
}

// The operation's name and path, in either dialect.
Status OpAndPath(const json& c, PatchDialect dialect, std::string* op, std::string* path) {
  if (dialect == PatchDialect::kV21) {
    if (!c.contains("op") || !c["op"].is_string()) return Status::InvalidArgument("Unable to find 'op' in JSON Schema change");
    *op = c["op"].get<std::string>();
    if (!c.contains("path") || !c["path"].is_string()) {
      return Status::InvalidArgument("Unable to find 'path' in JSON Schema change");
    }
    *path = c["path"].get<std::string>();
    return Status::Ok();
  }
  int found = 0;
  for (const char* name : {"add", "remove", "replace"}) {
    if (!c.contains(name)) continue;
    ++found;
    if (!c[name].is_string()) return Status::InvalidArgument("The path of '" + std::string(name) + "' must be a string");
    *op = name;
    *path = c[name].get<std::string>();
  }
  if (found != 1) return Status::InvalidArgument("A v2.0 change must have exactly one of add, remove, replace");
  return Status::Ok();
}

}  // namespace

Result<PatchDialect> PatchDialectOf(std::string_view content_type) {
  std::string_view ct = content_type.substr(0, content_type.find(';'));
  if (ct == "application/openstack-images-v2.1-json-patch") return PatchDialect::kV21;
  if (ct == "application/openstack-images-v2.0-json-patch") return PatchDialect::kV20;
  return Status::UnsupportedMedia("Unsupported Content-Type '" + std::string(ct.substr(0, 200)) + "' for PATCH");
}

bool IsLocationsPatch(const json& ops) {
  return !ops.empty() && std::all_of(ops.begin(), ops.end(), [](const json& c) {
    return c.is_object() && c.contains("path") && c["path"].is_string() &&
           c["path"].get<std::string>().rfind("/locations", 0) == 0;
  });
}

json NormalizeToV21(const json& ops) {
  json out = json::array();
  for (const auto& c : ops) {
    std::string op, path;
    if (c.is_object() && OpAndPath(c, PatchDialect::kV20, &op, &path).ok()) {
      json v21 = {{"op", op}, {"path", path}};
      if (c.contains("value")) v21["value"] = c["value"];
      out.push_back(std::move(v21));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<PatchChange> ParsePatchChange(const json& c, PatchDialect dialect, bool caller_is_admin) {
  if (!c.is_object()) return Status::InvalidArgument("Operations must be JSON objects.");
  PatchChange ch;
  std::string path;
  GLINT_RETURN_IF_ERROR(OpAndPath(c, dialect, &ch.op, &path));
  if (ch.op != "add" && ch.op != "remove" && ch.op != "replace") {
    return Status::InvalidArgument("Invalid operation: `" + ch.op + "`: it must be one of add, remove, replace.");
  }
  if (ch.op != "remove") {
    if (!c.contains("value")) return Status::InvalidArgument("Operation \"" + ch.op + "\" requires a member named \"value\".");
    ch.value = c["value"];
  }
  auto root = DecodePointer(path);
  if (!root.ok()) return root.status();
  ch.root = *root;
  if (kReadOnly.count(ch.root)) return Status::PermissionDenied("Attribute '" + ch.root + "' is read-only.");
  if (kReserved.count(ch.root) || IsReservedNamespace(ch.root)) {
    return Status::PermissionDenied("Attribute '" + ch.root + "' is reserved.");
  }
  if (ch.root == "locations") {
    return Status::PermissionDenied("It's not allowed to update locations if locations are invisible.");
  }
  if (ch.root == "owner" && !caller_is_admin) return Status::PermissionDenied("Owner can't be updated by non admin.");
  return ch;
}

}  // namespace glint::control
