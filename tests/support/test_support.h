// Shared helpers for Glint's unit tests: status assertions and temporary directories.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "common/status.h"

#define ASSERT_OK(expr)                                  \
  do {                                                   \
    ::glint::Status _s = (expr);                         \
    ASSERT_TRUE(_s.ok()) << _s.ToString();               \
  } while (0)
#define EXPECT_OK(expr)                                  \
  do {                                                   \
    ::glint::Status _s = (expr);                         \
    EXPECT_TRUE(_s.ok()) << _s.ToString();               \
  } while (0)

namespace glint::testing {

// A fresh directory, removed with everything in it when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "glint-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace glint::testing
