// How the `glint` client prints: glanceclient's boxed tables, and the small parsers its
// options share (KEY=VALUE, True/False).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace glint::cli {

// One JSON value as a table cell: strings bare, lists comma-separated, null empty.
std::string Cell(const nlohmann::json& v);
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);
// An object as a Property/Value table (images, tasks), without the link fields.
void PrintObject(const nlohmann::json& obj);

std::pair<std::string, std::string> SplitKv(const std::string& kv);
bool ToBool(const std::string& s);
const char* Env(const char* name);

}  // namespace glint::cli
