#include "control/schemas.h"

#include <map>
#include <nlohmann/json.hpp>

namespace glint::control {
namespace {

using nlohmann::json;

const char* kUuidPattern =
    "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$";

json Prop(json type, const char* description, json extra = json::object()) {
  json p = {{"type", std::move(type)}, {"description", description}};
  for (auto& [k, v] : extra.items()) p[k] = v;
  return p;
}

json ImageSchema() {
  json n_s = json::array({"null", "string"});
  json n_i = json::array({"null", "integer"});
  json ro = {{"readOnly", true}};
  json props = {
      {"id", Prop("string", "Image identifier (UUID).", {{"pattern", kUuidPattern}})},
      {"name", Prop(n_s, "Human-readable image name.", {{"maxLength", 255}})},
      {"status", Prop("string", "Where the image is in its lifecycle.",
                      {{"readOnly", true},
                       {"enum", {"queued", "saving", "active", "killed", "deleted", "uploading",
                                 "importing", "pending_delete", "deactivated"}}})},
      {"visibility", Prop("string", "Who may see the image.",
                          {{"enum", {"community", "public", "private", "shared"}}})},
      {"protected", Prop("boolean", "A protected image cannot be deleted.")},
      {"os_hidden", Prop("boolean", "Hidden images are left out of default listings.")},
      {"checksum", Prop(n_s, "MD5 of the image data.", {{"readOnly", true}, {"maxLength", 32}})},
      {"os_hash_algo", Prop(n_s, "Algorithm of os_hash_value.", {{"readOnly", true}, {"maxLength", 64}})},
      {"os_hash_value", Prop(n_s, "Secure hash of the image data.", {{"readOnly", true}, {"maxLength", 128}})},
      {"owner", Prop(n_s, "Project that owns the image.", {{"maxLength", 255}})},
      {"size", Prop(n_i, "Size of the image data in bytes.", ro)},
      {"virtual_size", Prop(n_i, "Size of the virtual disk in bytes.", ro)},
      {"container_format", Prop(n_s, "Container format of the image.",
                                {{"enum", {nullptr, "ami", "ari", "aki", "bare", "ovf", "ova",
                                           "docker", "compressed"}}})},
      {"disk_format", Prop(n_s, "Disk format of the image.",
                           {{"enum", {nullptr, "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw",
                                      "qcow2", "vdi", "iso", "ploop"}}})},
      {"created_at", Prop("string", "When the image was created.", ro)},
      {"updated_at", Prop("string", "When the image was last changed.", ro)},
      {"tags", Prop("array", "Free-form labels.",
                    {{"items", {{"type", "string"}, {"maxLength", 255}}}})},
      {"direct_url", Prop("string", "Store location of the data, when shown.", ro)},
      {"min_ram", Prop("integer", "RAM in MiB needed to boot the image.")},
      {"min_disk", Prop("integer", "Disk in GiB needed to boot the image.")},
      {"self", Prop("string", "Link to this image.", ro)},
      {"file", Prop("string", "Link to the image data.", ro)},
      {"schema", Prop("string", "Link to this schema.", ro)},
      {"locations",
       Prop("array", "Store locations of the image data, when shown.",
            {{"items",
              {{"type", "object"},
               {"properties",
                {{"url", {{"type", "string"}, {"maxLength", 255}}},
                 {"metadata", {{"type", "object"}}},
                 {"validation_data",
                  {{"description", "Hashes to check the data at this location against."},
                   {"type", "object"},
                   {"writeOnly", true},
                   {"additionalProperties", false},
                   {"properties",
                    {{"checksum", {{"type", "string"}, {"minLength", 32}, {"maxLength", 32}}},
                     {"os_hash_algo", {{"type", "string"}, {"maxLength", 64}}},
                     {"os_hash_value", {{"type", "string"}, {"maxLength", 128}}}}},
                   {"required", {"os_hash_algo", "os_hash_value"}}}}}},
               {"required", {"url", "metadata"}}}}})},
      // Well-known optional properties (is_base: false).
      {"kernel_id", Prop(n_s, "Image id of the kernel for an AMI-style image.",
                         {{"pattern", kUuidPattern}, {"is_base", false}})},
      {"ramdisk_id", Prop(n_s, "Image id of the ramdisk for an AMI-style image.",
                          {{"pattern", kUuidPattern}, {"is_base", false}})},
      {"instance_uuid", Prop("string", "Server this snapshot was taken from.", {{"is_base", false}})},
      {"architecture", Prop("string", "CPU architecture the image needs.", {{"is_base", false}})},
      {"os_distro", Prop("string", "Operating system distribution.", {{"is_base", false}})},
      {"os_version", Prop("string", "Operating system version.", {{"is_base", false}})},
      {"description", Prop("string", "Free-text description of the image.", {{"is_base", false}})},
      {"cinder_encryption_key_id",
       Prop("string", "Key manager id of the encryption key of a volume snapshot.",
            {{"is_base", false}})},
      {"cinder_encryption_key_deletion_policy",
       Prop("string", "Whether deleting the image deletes its encryption key.",
            {{"enum", {"on_image_deletion", "do_not_delete"}}, {"is_base", false}})},
  };
  return {{"name", "image"},
          {"properties", props},
          {"additionalProperties", {{"type", "string"}}},
          {"links",
           {{{"rel", "self"}, {"href", "{self}"}},
            {{"rel", "enclosure"}, {"href", "{file}"}},
            {{"rel", "describedby"}, {"href", "{schema}"}}}}};
}

json MemberSchema() {
  return {{"name", "member"},
          {"properties",
           {{"member_id", Prop("string", "Project the image is shared with.")},
            {"image_id", Prop("string", "Shared image.", {{"pattern", kUuidPattern}})},
            {"created_at", Prop("string", "When the membership was created.")},
            {"updated_at", Prop("string", "When the membership last changed.")},
            {"status", Prop("string", "The member's answer to the share.",
                            {{"enum", {"pending", "accepted", "rejected"}}})},
            {"schema", Prop("string", "Link to this schema.", {{"readOnly", true}})}}}};
}

json NamespaceSchema() {
  json type_enum = {"array", "boolean", "integer", "number", "object", "string", nullptr};
  json property_def = {
      {"type", "object"},
      {"additionalProperties",
       {{"type", "object"},
        {"required", {"title", "type"}},
        {"properties",
         {{"name", {{"type", "string"}, {"maxLength", 80}}},
          {"title", {{"type", "string"}}},
          {"description", {{"type", "string"}}},
          {"operators", {{"type", "array"}, {"items", {{"type", "string"}}}}},
          {"type", {{"type", "string"}, {"enum", type_enum}}},
          {"required", {{"$ref", "#/definitions/stringArray"}}},
          {"minimum", {{"type", "number"}}},
          {"maximum", {{"type", "number"}}},
          {"maxLength", {{"$ref", "#/definitions/positiveInteger"}}},
          {"minLength", {{"$ref", "#/definitions/positiveIntegerDefault0"}}},
          {"pattern", {{"type", "string"}, {"format", "regex"}}},
          {"enum", {{"type", "array"}}},
          {"readonly", {{"type", "boolean"}}},
          {"default", json::object()},
          {"items",
           {{"type", "object"},
            {"properties",
             {{"type", {{"type", "string"}, {"enum", type_enum}}}, {"enum", {{"type", "array"}}}}}}},
          {"maxItems", {{"$ref", "#/definitions/positiveInteger"}}},
          {"minItems", {{"$ref", "#/definitions/positiveIntegerDefault0"}}},
          {"uniqueItems", {{"type", "boolean"}, {"default", false}}},
          {"additionalItems", {{"type", "boolean"}}}}}}}};
  return {
      {"name", "namespace"},
      {"properties",
       {{"namespace", Prop("string", "Unique namespace name.", {{"maxLength", 80}})},
        {"display_name", Prop("string", "Name shown to users.", {{"maxLength", 80}})},
        {"description", Prop("string", "What the namespace is for.", {{"maxLength", 500}})},
        {"visibility", Prop("string", "Who may see the namespace.", {{"enum", {"public", "private"}}})},
        {"protected", Prop("boolean", "A protected namespace cannot be deleted.")},
        {"owner", Prop("string", "Owning project.", {{"maxLength", 255}})},
        {"created_at", Prop("string", "Creation time.", {{"readOnly", true}, {"format", "date-time"}})},
        {"updated_at", Prop("string", "Last change.", {{"readOnly", true}, {"format", "date-time"}})},
        {"schema", {{"readOnly", true}, {"type", "string"}}},
        {"self", {{"readOnly", true}, {"type", "string"}}},
        {"resource_type_associations",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"properties",
             {{"name", {{"type", "string"}}},
              {"prefix", {{"type", "string"}}},
              {"properties_target", {{"type", "string"}}}}}}}}},
        {"properties", {{"$ref", "#/definitions/property"}}},
        {"objects",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"properties",
             {{"name", {{"type", "string"}}},
              {"description", {{"type", "string"}}},
              {"required", {{"$ref", "#/definitions/stringArray"}}},
              {"properties", {{"$ref", "#/definitions/property"}}}}}}}}},
        {"tags",
         {{"type", "array"},
          {"items", {{"type", "object"}, {"properties", {{"name", {{"type", "string"}}}}}}}}}}},
      {"additionalProperties", false},
      {"definitions",
       {{"positiveInteger", {{"type", "integer"}, {"minimum", 0}}},
        {"positiveIntegerDefault0",
         {{"allOf", {{{"$ref", "#/definitions/positiveInteger"}}, {{"default", 0}}}}}},
        {"stringArray", {{"type", "array"}, {"items", {{"type", "string"}}}, {"uniqueItems", true}}},
        {"property", property_def}}},
      {"required", {"namespace"}}};
}

json ResourceTypeSchema() {
  return {{"name", "resource_type_association"},
          {"properties",
           {{"name", Prop("string", "Resource type name, e.g. OS::Glance::Image.", {{"maxLength", 80}})},
            {"prefix", Prop("string", "Prefix for property names.", {{"maxLength", 80}})},
            {"properties_target", Prop("string", "Sub-resource the properties apply to.", {{"maxLength", 80}})},
            {"created_at", Prop("string", "Creation time.", {{"readOnly", true}, {"format", "date-time"}})},
            {"updated_at", Prop("string", "Last change.", {{"readOnly", true}, {"format", "date-time"}})}}},
          {"additionalProperties", false},
          {"required", {"name"}}};
}

// Glance's task schema; the list shows tasks without input, result and message.
json TaskSchema(bool partial) {
  json s = {{"id", {{"type", "string"},
                    {"pattern", "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"},
                    {"description", "An identifier for the task"}}},
            {"type", {{"type", "string"}, {"enum", {"import", "api_image_import"}},
                      {"description", "The type of task represented by this content"}}},
            {"status", {{"type", "string"}, {"enum", {"pending", "processing", "success", "failure"}},
                        {"description", "The current status of this task"}}},
            {"input", {{"type", {"null", "object"}}, {"description", "The parameters required by task, JSON blob"}}},
            {"result", {{"type", {"null", "object"}}, {"description", "The result of current task, JSON blob"}}},
            {"owner", {{"type", "string"}, {"description", "An identifier for the owner of this task"}}},
            {"message", {{"type", "string"},
                         {"description", "Human-readable informative message only included when appropriate "
                                         "(usually on failure)"}}},
            {"image_id", {{"type", "string"}, {"description", "Image associated with the task"}}},
            {"request_id", {{"type", "string"}, {"description", "Human-readable informative request-id"}}},
            {"user_id", {{"type", "string"}, {"description", "User associated with the task"}}},
            {"expires_at", {{"type", {"null", "string"}},
                            {"description", "Datetime when this resource would be subject to removal"}}},
            {"created_at", {{"type", "string"}, {"description", "Datetime when this resource was created"}}},
            {"updated_at", {{"type", "string"}, {"description", "Datetime when this resource was updated"}}},
            {"self", {{"type", "string"}, {"readOnly", true}}},
            {"schema", {{"type", "string"}, {"readOnly", true}}}};
  if (partial) {
    for (const char* hidden : {"input", "result", "message"}) s.erase(hidden);
  }
  return {{"name", "task"}, {"properties", s}};
}

// Glance's schemas of a namespace's objects, properties and tags (glanceclient's md-*
// commands build their models from them), sharing the namespace schema's definitions.
json MetadefItemSchema(const std::string& which) {
  const json ns = NamespaceSchema();
  const json& defs = ns["definitions"];
  json ro_time = Prop("string", "Date and time of the last change.", {{"readOnly", true}, {"format", "date-time"}});
  if (which == "object") {
    return {{"name", "object"},
            {"properties",
             {{"name", Prop("string", "Object name.", {{"maxLength", 255}})},
              {"description", Prop("string", "What the object is.")},
              {"required", {{"$ref", "#/definitions/stringArray"}}},
              {"properties", {{"$ref", "#/definitions/property"}}},
              {"schema", {{"readOnly", true}, {"type", "string"}}},
              {"self", {{"readOnly", true}, {"type", "string"}}},
              {"created_at", ro_time},
              {"updated_at", ro_time}}},
            {"required", {"name"}},
            {"additionalProperties", false},
            {"definitions", defs}};
  }
  if (which == "property") {
    json item = defs["property"]["additionalProperties"];
    item["properties"]["name"] = Prop("string", "Property name.", {{"maxLength", 255}});
    item["required"] = {"type", "title", "name"};
    item["name"] = "property";
    item["additionalProperties"] = false;
    item["definitions"] = defs;
    return item;
  }
  return {{"name", "tag"},
          {"properties",
           {{"name", Prop("string", "Tag name.", {{"maxLength", 255}})}, {"created_at", ro_time},
            {"updated_at", ro_time}}},
          {"required", {"name"}},
          {"additionalProperties", false}};
}

json Collection(const char* name, const char* item_key, json item, bool paged) {
  json props = {{item_key, {{"type", "array"}, {"items", std::move(item)}}},
                {"schema", {{"type", "string"}}}};
  json links = json::array();
  if (paged) {
    props["first"] = {{"type", "string"}};
    props["next"] = {{"type", "string"}};
    links.push_back({{"rel", "first"}, {"href", "{first}"}});
    links.push_back({{"rel", "next"}, {"href", "{next}"}});
  }
  links.push_back({{"rel", "describedby"}, {"href", "{schema}"}});
  return {{"name", name}, {"properties", props}, {"links", links}};
}

std::map<std::string, std::string> Build() {
  std::map<std::string, std::string> m;
  m["image"] = ImageSchema().dump();
  m["images"] = Collection("images", "images", ImageSchema(), true).dump();
  m["member"] = MemberSchema().dump();
  m["task"] = TaskSchema(false).dump();
  m["tasks"] = Collection("tasks", "tasks", TaskSchema(true), false).dump();  // Glance lists no paging links here
  m["members"] = Collection("members", "members", MemberSchema(), false).dump();
  m["metadefs/namespace"] = NamespaceSchema().dump();
  m["metadefs/namespaces"] = Collection("namespaces", "namespaces", NamespaceSchema(), true).dump();
  m["metadefs/resource_type"] = ResourceTypeSchema().dump();
  m["metadefs/resource_types"] =
      Collection("resource_type_associations", "resource_type_associations", ResourceTypeSchema(), true)
          .dump();
  m["metadefs/object"] = MetadefItemSchema("object").dump();
  m["metadefs/objects"] = Collection("objects", "objects", MetadefItemSchema("object"), true).dump();
  m["metadefs/property"] = MetadefItemSchema("property").dump();
  m["metadefs/properties"] =
      json{{"name", "properties"},
           {"properties", {{"properties", {{"$ref", "#/definitions/property"}}}}},
           {"links", {{{"rel", "first"}, {"href", "{first}"}}, {{"rel", "next"}, {"href", "{next}"}},
                      {{"rel", "describedby"}, {"href", "{schema}"}}}},
           {"definitions", NamespaceSchema()["definitions"]}}
          .dump();
  m["metadefs/tag"] = MetadefItemSchema("tag").dump();
  m["metadefs/tags"] = Collection("tags", "tags", MetadefItemSchema("tag"), true).dump();
  return m;
}

}  // namespace

const std::string* SchemaJson(const std::string& name) {
  static const std::map<std::string, std::string> kSchemas = Build();
  auto it = kSchemas.find(name);
  return it == kSchemas.end() ? nullptr : &it->second;
}

}  // namespace glint::control
