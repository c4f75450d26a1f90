// The host cache of a glint-fs mount (--cache-dir): pin an image file so it is fetched
// whole and kept, unpin it, show what is cached. These talk to the mount (extended
// attributes of the image file), not to the API.
#include <sys/xattr.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"
#include "cli/output.h"

namespace glint::cli {
namespace {

std::string Attr(const std::string& path, const char* name) {
  char buf[256];
  ssize_t n = ::getxattr(path.c_str(), name, buf, sizeof buf);
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP) Die(path + " is not an image file of a glint-fs mount with --cache-dir");
    Die(path + ": " + std::strerror(errno));
  }
  return std::string(buf, static_cast<size_t>(n));
}

void SetPin(const std::string& path, bool pin) {
  Attr(path, "user.glint.cache.chunks");  // a cached mount's image file, or a clear error
  int rc = pin ? ::setxattr(path.c_str(), "user.glint.pin", "1", 1, 0) : ::removexattr(path.c_str(), "user.glint.pin");
  if (rc == 0) return;
  if (errno == ENOSPC) Die("the pinned images would not fit in the host cache (--cache-size)");
  if (errno == ENOTSUP) Die("this image has no chunk manifest and the mount caches only verified images");
  Die(path + ": " + std::strerror(errno));
}

}  // namespace

void AddCacheCommands(CLI::App& app, Globals&) {
  static std::string pin_path, unpin_path, status_path;
  auto* pin = app.add_subcommand("cache-pin", "fetch an image of a glint-fs mount whole into the host cache and keep it");
  pin->add_option("file", pin_path, "the image's file in the mount (MOUNT/by-id/<id>)")->required();
  pin->callback([] { SetPin(pin_path, true); });
  auto* unpin = app.add_subcommand("cache-unpin", "let the host cache evict a pinned image again");
  unpin->add_option("file", unpin_path, "the image's file in the mount")->required();
  unpin->callback([] { SetPin(unpin_path, false); });
  auto* status = app.add_subcommand("cache-status", "show how much of an image the host cache holds");
  status->add_option("file", status_path, "the image's file in the mount")->required();
  status->callback([] {
    std::printf("cached chunks: %s\n", Attr(status_path, "user.glint.cache.chunks").c_str());
    std::printf("store fetches: %s\n", Attr(status_path, "user.glint.cache.fetches").c_str());
    std::printf("verified: %s\n", Attr(status_path, "user.glint.cache.verified") == "1" ? "yes" : "no");
    std::printf("pinned: %s\n", Attr(status_path, "user.glint.pin") == "1" ? "yes" : "no");
  });
}

}  // namespace glint::cli
