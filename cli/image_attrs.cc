#include "cli/image_attrs.h"

#include "cli/output.h"

namespace glint::cli {

void AddAttrs(CLI::App* c, Attrs& a) {
  c->add_option("--name", a.name, "image name");
  c->add_option("--disk-format", a.disk_format, "disk format (raw, qcow2, ...)");
  c->add_option("--container-format", a.container_format, "container format (bare, ...)");
  c->add_option("--visibility", a.visibility, "public, private, shared or community");
  c->add_option("--owner", a.owner, "owning project");
  c->add_option("--min-disk", a.min_disk, "minimum disk in GiB");
  c->add_option("--min-ram", a.min_ram, "minimum RAM in MiB");
  c->add_option("--protected", a.is_protected, "True or False");
  c->add_option("--os-hidden", a.hidden, "True or False");
  c->add_option("--property", a.properties, "custom property KEY=VALUE (repeatable)");
}

nlohmann::json AttrsJson(const Attrs& a) {
  nlohmann::json j = nlohmann::json::object();
  if (a.name) j["name"] = *a.name;
  if (a.disk_format) j["disk_format"] = *a.disk_format;
  if (a.container_format) j["container_format"] = *a.container_format;
  if (a.visibility) j["visibility"] = *a.visibility;
  if (a.owner) j["owner"] = *a.owner;
  if (a.min_disk) j["min_disk"] = *a.min_disk;
  if (a.min_ram) j["min_ram"] = *a.min_ram;
  if (a.is_protected) j["protected"] = ToBool(*a.is_protected);
  if (a.hidden) j["os_hidden"] = ToBool(*a.hidden);
  for (const auto& kv : a.properties) {
    auto [k, v] = SplitKv(kv);
    j[k] = v;
  }
  return j;
}

}  // namespace glint::cli
