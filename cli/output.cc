#include "cli/output.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iostream>

#include "cli/api.h"

namespace glint::cli {

std::string Cell(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  if (v.is_array()) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + Cell(x);
    return s;
  }
  return v.dump();
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(header.size());
  for (size_t i = 0; i < header.size(); ++i) w[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  auto line = [&] {
    std::string s = "+";
    for (size_t x : w) s += std::string(x + 2, '-') + "+";
    std::cout << s << "\n";
  };
  auto row = [&](const std::vector<std::string>& r) {
    std::string s = "|";
    for (size_t i = 0; i < r.size(); ++i) s += " " + r[i] + std::string(w[i] - r[i].size(), ' ') + " |";
    std::cout << s << "\n";
  };
  line();
  row(header);
  line();
  for (const auto& r : rows) row(r);
  line();
}

void PrintObject(const nlohmann::json& obj) {
  std::vector<std::vector<std::string>> rows;
  for (auto& [k, v] : obj.items()) {
    if (k == "self" || k == "file" || k == "schema") continue;
    rows.push_back({k, Cell(v)});
  }
  PrintTable({"Property", "Value"}, rows);
}

std::pair<std::string, std::string> SplitKv(const std::string& kv) {
  size_t eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) Die("expected KEY=VALUE, got '" + kv + "'");
  return {kv.substr(0, eq), kv.substr(eq + 1)};
}

bool ToBool(const std::string& s) {
  std::string l = s;
  for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "true" || l == "1" || l == "yes") return true;
  if (l == "false" || l == "0" || l == "no") return false;
  Die("expected True or False, got '" + s + "'");
}

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace glint::cli
