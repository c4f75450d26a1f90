#include "control/image_attributes.h"

#include "common/ids.h"

namespace glint::control {

using catalog::ImageRecord;
using nlohmann::json;

namespace {
// A value echoed in an error message: never throws on invalid UTF-8.
std::string Dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }
}  // namespace

const std::set<std::string> kDiskFormats = {"ami", "ari",   "aki", "vhd", "vhdx", "vmdk",
                                            "raw", "qcow2", "vdi", "iso", "ploop"};
const std::set<std::string> kContainerFormats = {"ami", "ari", "aki",    "bare",
                                                 "ovf", "ova", "docker", "compressed"};
const std::set<std::string> kVisibilities = {"community", "public", "private", "shared"};
// Glance's split of an image's keys.
const std::set<std::string> kDisallowed = {"direct_url", "self", "file", "schema", "stores"};
const std::set<std::string> kReadOnly = {"created_at", "updated_at", "status", "checksum",
                                         "size",       "virtual_size", "direct_url", "self",
                                         "file",       "schema",   "id", "os_hash_algo",
                                         "os_hash_value"};
const std::set<std::string> kReserved = {"location", "deleted", "deleted_at"};
const std::set<std::string> kBase = {"checksum", "created_at", "container_format", "disk_format",
                                     "id",       "min_disk",   "min_ram",  "name",  "size",
                                     "virtual_size", "status", "tags",     "owner", "updated_at",
                                     "visibility", "protected", "os_hidden", "os_hash_algo",
                                     "os_hash_value", "locations", "direct_url", "self", "file",
                                     "schema", "stores"};
const std::set<std::string> kSortKeys = {"name", "status", "container_format", "disk_format",
                                         "size", "id",     "created_at",       "updated_at"};


namespace {

Status BadSchema(const std::string& why) {
  return Status::InvalidArgument("Provided object does not match schema 'image': " + why);
}

// A custom property: string values, keys of at most 255 characters.
Status SetProperty(ImageRecord& img, const std::string& key, const json& v) {
  if (key.size() > 255) return BadSchema("property name is too long (max 255): " + key.substr(0, 40) + "...");
  if (key.empty()) return BadSchema("empty property name");
  if (key == "kernel_id" || key == "ramdisk_id") {
    if (v.is_null()) {
      img.properties.erase(key);
      return Status::Ok();
    }
    if (!v.is_string() || !IsUuid(v.get<std::string>())) {
      return BadSchema(Dump(v) + " does not match the UUID pattern for " + key);
    }
  }
  if (key == "cinder_encryption_key_deletion_policy" && v.is_string() &&
      v != "on_image_deletion" && v != "do_not_delete") {
    return BadSchema(Dump(v) + " is not one of ['on_image_deletion', 'do_not_delete']");
  }
  if (!v.is_string()) return BadSchema(Dump(v) + " is not of type 'string' for " + key);
  img.properties[key] = v.get<std::string>();
  return Status::Ok();
}

}  // namespace

bool IsReservedNamespace(const std::string& key) {
  return key.rfind("os_glance", 0) == 0 || key.rfind("os_glint_", 0) == 0;
}

// Applies one attribute from a create body or a patch to the record, validating it
// against the image schema.
Status SetAttribute(ImageRecord& img, const std::string& key, const json& v) {
  auto opt_string = [&](std::optional<std::string>* out, size_t max,
                        const std::set<std::string>* allowed) -> Status {
    if (v.is_null()) {
      out->reset();
      return Status::Ok();
    }
    if (!v.is_string()) return BadSchema(Dump(v) + " is not of type 'null', 'string' for " + key);
    std::string s = v.get<std::string>();
    if (s.size() > max) return BadSchema(key + " is too long (max " + std::to_string(max) + ")");
    if (allowed && !allowed->count(s)) {
      return BadSchema("'" + s + "' is not one of the allowed values for " + key);
    }
    *out = s;
    return Status::Ok();
  };
  auto non_negative = [&](int64_t* out) -> Status {
    if (!v.is_number_integer()) return BadSchema(Dump(v) + " is not of type 'integer' for " + key);
    int64_t n = v.get<int64_t>();
    if (n < 0) return BadSchema(std::to_string(n) + " is less than the minimum of 0 for " + key);
    if (n > 2147483647) return BadSchema(std::to_string(n) + " is greater than the maximum of 2147483647 for " + key);
    *out = n;
    return Status::Ok();
  };
  auto boolean = [&](bool* out) -> Status {
    if (!v.is_boolean()) return BadSchema(Dump(v) + " is not of type 'boolean' for " + key);
    *out = v.get<bool>();
    return Status::Ok();
  };
  if (key == "name") return opt_string(&img.name, 255, nullptr);
  if (key == "disk_format") return opt_string(&img.disk_format, 255, &kDiskFormats);
  if (key == "container_format") return opt_string(&img.container_format, 255, &kContainerFormats);
  if (key == "owner") return opt_string(&img.owner, 255, nullptr);
  if (key == "min_disk") return non_negative(&img.min_disk);
  if (key == "min_ram") return non_negative(&img.min_ram);
  if (key == "protected") return boolean(&img.is_protected);
  if (key == "os_hidden") return boolean(&img.os_hidden);
  if (key == "visibility") {
    if (!v.is_string() || !kVisibilities.count(v.get<std::string>())) {
      return BadSchema(Dump(v) + " is not one of ['community', 'public', 'private', 'shared']");
    }
    img.visibility = v.get<std::string>();
    return Status::Ok();
  }
  if (key == "tags") {
    if (!v.is_array()) return BadSchema(Dump(v) + " is not of type 'array' for tags");
    std::set<std::string> tags;
    for (const auto& t : v) {
      if (!t.is_string()) return BadSchema(Dump(t) + " is not of type 'string' in tags");
      std::string s = t.get<std::string>();
      if (s.size() > 255) return BadSchema("tag is too long (max 255)");
      tags.insert(s);
    }
    img.tags.assign(tags.begin(), tags.end());
    return Status::Ok();
  }
  if (key == "id") {
    if (!v.is_string() || !IsUuid(v.get<std::string>())) {
      return BadSchema(Dump(v) + " does not match the UUID pattern for id");
    }
    img.id = CanonicalUuid(v.get<std::string>());
    return Status::Ok();
  }
  return SetProperty(img, key, v);
}

}  // namespace glint::control
