// ASCII text helpers shared by the parsers (config and policy files, headers, image
// descriptors): case folding and trimming. Locale-independent: only A-Z are folded, and
// only the given blank characters are trimmed.
#pragma once

#include <string>
#include <string_view>

namespace glint {

inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// `s` without leading and trailing characters from `blanks` (a view into `s`).
inline std::string_view TrimView(std::string_view s, std::string_view blanks = " \t") {
  size_t b = s.find_first_not_of(blanks);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(blanks) - b + 1);
}

inline std::string Trimmed(std::string_view s, std::string_view blanks = " \t") {
  return std::string(TrimView(s, blanks));
}

}  // namespace glint
