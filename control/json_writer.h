// JsonWriter: appends JSON text to a string without building a document tree. Used on the
// hot paths (image records in list/show responses), where a DOM costs a heap allocation
// per key. The caller is responsible for well-formed nesting; Key/value calls add commas.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace glint::control {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  void Key(std::string_view k) {
    Comma();
    Quote(k);
    out_.push_back(':');
    after_key_ = true;
  }
  void String(std::string_view v) {
    Comma();
    Quote(v);
  }
  void Int(int64_t v) {
    Comma();
    out_ += std::to_string(v);
  }
  void Bool(bool v) {
    Comma();
    out_ += v ? "true" : "false";
  }
  void Null() {
    Comma();
    out_ += "null";
  }
  void String(const std::string& v) { String(std::string_view(v)); }
  void String(const char* v) { String(std::string_view(v)); }
  void OptString(const std::optional<std::string>& v) { v ? String(std::string_view(*v)) : Null(); }
  void OptInt(const std::optional<int64_t>& v) { v ? Int(*v) : Null(); }
  // Raw JSON text (already valid) as the next value.
  void Raw(std::string_view json) {
    Comma();
    out_ += json;
  }

 private:
  void Open(char c) {
    Comma();
    out_.push_back(c);
    first_ = true;
  }
  void Close(char c) {
    out_.push_back(c);
    first_ = false;
  }
  void Comma() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_) out_.push_back(',');
    first_ = false;
  }
  static bool NeedsEscape8(const char* p) {
    constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
    uint64_t w;
    std::memcpy(&w, p, 8);
    auto has_zero = [&](uint64_t v) { return ((v - kOnes) & ~v & kHigh) != 0; };
    bool control = ((w - kOnes * 0x20) & ~w & kHigh) != 0;  // some byte < 0x20
    return control || has_zero(w ^ (kOnes * '"')) || has_zero(w ^ (kOnes * '\\'));
  }

  // Runs of characters that need no escape are appended whole (ids, names, dates are
  // nearly all such): the list path spends its time here.
  void Quote(std::string_view s) {
    static const char kHex[] = "0123456789abcdef";
    out_.push_back('"');
    size_t run = 0;  // start of the pending unescaped run
    for (size_t i = 0; i < s.size(); ++i) {
      // Eight bytes at a time while none needs an escape (no control byte, quote or
      // backslash): the common case for ids, names and dates.
      while (i + 8 <= s.size() && !NeedsEscape8(s.data() + i)) i += 8;
      if (i >= s.size()) break;
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_.append(s.data() + run, i - run);
      run = i + 1;
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        case '\b': out_ += "\\b"; break;
        case '\f': out_ += "\\f"; break;
        default:
          out_ += "\\u00";
          out_.push_back(kHex[c >> 4]);
          out_.push_back(kHex[c & 15]);
      }
    }
    out_.append(s.data() + run, s.size() - run);
    out_.push_back('"');
  }

  std::string& out_;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace glint::control
