#include "control/access_log.h"

#include <cstdio>

namespace glint::control {
namespace {

// Appends `in`, at most `limit` input bytes of it, with anything that could break the
// line or forge a field (controls, quotes, backslashes, non-ASCII) as \xHH.
void AppendSafe(std::string& out, std::string_view in, size_t limit) {
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < in.size() && i < limit; ++i) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c >= 0x21 && c <= 0x7e && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  if (in.size() > limit) out += "...";
}

void AppendField(std::string& out, std::string_view value) {
  if (value.empty()) {
    out += '-';
  } else {
    AppendSafe(out, value, kMaxAccessTarget);
  }
}

}  // namespace

std::string FormatAccessLine(const AccessRecord& r) {
  std::string out = "access ";
  AppendField(out, r.request_id);
  out += " user=";
  AppendField(out, r.user_id);
  out += " project=";
  AppendField(out, r.project_id);
  out += " \"";
  if (r.method.empty()) {
    out += '-';  // the head could not be parsed
  } else {
    AppendSafe(out, r.method, 32);
  }
  out += ' ';
  AppendField(out, r.target);
  out += "\" ";
  out += r.status > 0 ? std::to_string(r.status) : "-";
  out += ' ';
  out += std::to_string(r.bytes_sent);
  char ms[32];
  std::snprintf(ms, sizeof ms, " %.1fms", r.duration_ms);
  out += ms;
  return out;
}

}  // namespace glint::control
