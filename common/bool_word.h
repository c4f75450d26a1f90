// ParseBoolWord: oslo.config's boolean spellings (true/false, yes/no, on/off, 1/0, in any
// case), shared by the INI configuration and query parameters such as os_hidden.
#pragma once

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

namespace glint {

inline std::optional<bool> ParseBoolWord(std::string t) {
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "0" || t == "no" || t == "off") return false;
  return std::nullopt;
}

}  // namespace glint
