// The image attributes that image-create, image-update and image-create-via-import take as
// options (glanceclient's names), and the JSON they become.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace glint::cli {

struct Attrs {
  std::optional<std::string> name, disk_format, container_format, visibility, owner;
  std::optional<int64_t> min_disk, min_ram;
  std::optional<std::string> is_protected, hidden;
  std::vector<std::string> properties;
};

void AddAttrs(CLI::App* c, Attrs& a);
nlohmann::json AttrsJson(const Attrs& a);

}  // namespace glint::cli
