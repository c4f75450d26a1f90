// Helpers shared by the fuzz targets: a check that aborts (so libFuzzer records the input
// as a crash) when an invariant breaks, and a scratch file for parsers that read files.
// Each target runs single-threaded in its own process.
#pragma once

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

// Aborts with the failed condition: an invariant violation is a finding like a crash.
#define FUZZ_CHECK(cond)                                                            \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

namespace glint::fuzz {

// One file in a private directory, rewritten for every input and removed at exit.
class ScratchFile {
 public:
  explicit ScratchFile(const std::string& name) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "glint-fuzz-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    path_ = dir_ + "/" + name;
  }
  ~ScratchFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  const std::string& Write(std::string_view content) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc).write(content.data(),
                                                                   static_cast<std::streamsize>(content.size()));
    return path_;
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

}  // namespace glint::fuzz
