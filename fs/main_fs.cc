// glint-fs: mounts the images a credential may read as read-only files.
#include <grp.h>
#include <pwd.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <optional>

#include "fs/data_source.h"
#include "fs/glint_fs.h"
#include "fs/host_cache.h"
#include "fs/image_view.h"

using namespace glint;

namespace {

// Everything the command line says.
struct Args {
  std::string mountpoint, api, token, token_file, store_dir;
  std::string os_user, os_password, os_password_file, os_project;
  bool http = false, rbd = false, all = false, debug = false;
  store::RbdOptions rbd_opt;
  fs::ReadAheadOptions readahead;
  size_t window_mb = fs::ReadAheadOptions{}.window >> 20;
  size_t budget_mb = fs::ReadAheadOptions{}.budget >> 20;
  std::string uid, gid, file_mode;  // names or numbers; octal
  fs::FsOptions fs_opt;
  int api_timeout = 30;  // seconds without a byte from the API before a call fails
  std::string ca_file;
  std::string cache_dir, cache_size = "10G";
  bool cache_unverified = false;
  bool cache_fill_whole = false;
  double boot_seconds = fs::BootOptions{}.window_seconds;
};

client::ClientOptions HttpOptions(const Args& a) {
  client::ClientOptions o;
  o.stall_timeout_ms = a.api_timeout * 1000;
  o.connect_timeout_ms = std::min(a.api_timeout, 5) * 1000;
  o.ca_file = a.ca_file;
  return o;
}

void AddCredentialOptions(CLI::App& app, Args& a) {
  app.add_option("--api", a.api, "Glint API URL (env OS_IMAGE_URL)");
  app.add_option("--token", a.token, "token (env OS_AUTH_TOKEN)");
  app.add_option("--token-file", a.token_file, "read the token from this file");
  app.add_option("--api-timeout", a.api_timeout, "seconds an API call may go without an answering byte (default 30)");
  app.add_option("--ca-file", a.ca_file, "CA bundle for an https API (default: the system's)");
  app.add_option("--os-username", a.os_user, "built-in identity user (env OS_USERNAME)");
  app.add_option("--os-password-file", a.os_password_file, "file holding the user's password");
  app.add_option("--os-project-name", a.os_project, "project to scope to (env OS_PROJECT_NAME)");
}

void AddDataOptions(CLI::App& app, Args& a) {
  app.add_option("--store-dir", a.store_dir, "file store directory to read data from directly");
  app.add_flag("--http", a.http, "read data through the API (hosts without store access)");
  app.add_flag("--rbd", a.rbd, "read rbd-backed images through librbd");
  app.add_option("--rbd-pool", a.rbd_opt.pool, "RBD pool of the images (rbd_store_pool)");
  app.add_option("--rbd-user", a.rbd_opt.user, "cephx user without client. (rbd_store_user)");
  app.add_option("--ceph-conf", a.rbd_opt.ceph_conf, "Ceph config file (rbd_store_ceph_conf)");
  app.add_option("--rbd-readahead", a.readahead.depth, "rbd: windows read ahead, in parallel (0: off)");
  app.add_option("--rbd-readahead-window-mb", a.window_mb, "rbd: size of one read-ahead window");
  app.add_option("--rbd-readahead-budget-mb", a.budget_mb, "rbd: memory for read-ahead across open files");
}

void AddCacheOptions(CLI::App& app, Args& a) {
  app.add_option("--cache-dir", a.cache_dir, "keep image data read on this host in this directory (the host cache)");
  app.add_option("--cache-size", a.cache_size, "bytes the host cache may hold (K, M, G, T: binary units; default 10G)");
  app.add_flag("--cache-fill-whole", a.cache_fill_whole,
               "fetch the rest of an opened image in the background, so that it is kept whole and later opens "
               "are read by passthrough (images up to half the cache)");
  app.add_flag("!--no-passthrough", a.fs_opt.passthrough,
               "read everything through glint-fs, not by FUSE passthrough from a local file (a whole cached image, "
               "or without a cache a file store's image file)");
  app.add_flag("--cache-unverified", a.cache_unverified,
               "also cache images that have no chunk manifest, unverified (default: read those uncached)");
  app.add_option("--boot-prefetch-seconds", a.boot_seconds,
                 "learn the chunks an image reads this long after each open and prefetch them on the next open "
                 "(default 30; 0: off)");
}

void AddAccessOptions(CLI::App& app, Args& a) {
  app.add_flag("--allow-other", a.fs_opt.allow_other,
               "let accounts other than the mounting one in (still subject to --uid/--gid/--file-mode)");
  app.add_option("--uid,--user", a.uid, "owner of the files, a name or a number (default: the mounting user)");
  app.add_option("--gid,--group", a.gid, "group of the files, a name or a number (default: the mounting group)");
  app.add_option("--file-mode", a.file_mode, "mode of the image files, octal, read bits only (default 0440)");
}

void AddMountOptions(CLI::App& app, Args& a) {
  app.add_option("mountpoint", a.mountpoint, "where to mount")->required();
  app.add_option("--refresh", a.fs_opt.refresh_seconds, "seconds between (conditional) API polls");
  app.add_option("--threads", a.fs_opt.max_threads, "FUSE worker threads");
  app.add_option("--kernel-readahead-kb", a.fs_opt.kernel_readahead_kb,
                 "the mount's kernel read-ahead (read_ahead_kb; 0: kernel default)");
  app.add_option("-o", a.fs_opt.mount_options, "extra mount options");
  app.add_flag("--all", a.all, "list every image the credential may read (visibility=all; for admins)");
  app.add_flag("--debug", a.debug, "verbose logging");
}

std::optional<uint32_t> Number(const std::string& s, int base) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  unsigned long v = std::strtoul(s.c_str(), &end, base);
  if (*end != '\0' || v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

bool Refuse(const char* why, const std::string& value) {
  std::fprintf(stderr, "glint-fs: %s: %s\n", why, value.c_str());
  return false;
}

// --uid/--gid/--file-mode into FsOptions; false after printing what is wrong.
bool ResolveAccess(Args& a) {
  if (!a.uid.empty()) {
    auto n = Number(a.uid, 10);
    const passwd* pw = n ? nullptr : ::getpwnam(a.uid.c_str());
    if (!n && !pw) return Refuse("no such user", a.uid);
    a.fs_opt.uid = n ? *n : pw->pw_uid;
  }
  if (!a.gid.empty()) {
    auto n = Number(a.gid, 10);
    const group* gr = n ? nullptr : ::getgrnam(a.gid.c_str());
    if (!n && !gr) return Refuse("no such group", a.gid);
    a.fs_opt.gid = n ? *n : gr->gr_gid;
  }
  if (!a.file_mode.empty()) {
    // Read bits only: the mount is read-only, and x on an image invites executing it.
    auto mode = Number(a.file_mode, 8);
    if (!mode || (*mode & ~0444u)) return Refuse("--file-mode takes read bits only (0440, 0400, 0444)", a.file_mode);
    a.fs_opt.file_mode = *mode;
  }
  return true;
}

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

void FillFromEnvironment(Args& a) {
  auto env = [](const char* name, std::string& into) {
    if (into.empty() && std::getenv(name)) into = std::getenv(name);
  };
  env("OS_IMAGE_URL", a.api);
  if (!a.token.empty()) {
    std::fprintf(stderr, "glint-fs: warning: --token puts a secret on the command line, where every local user "
                         "can read it (ps); use --token-file or $OS_AUTH_TOKEN\n");
  }
  env("OS_AUTH_TOKEN", a.token);
  if (!a.token_file.empty()) a.token = FirstLine(a.token_file);
  env("OS_USERNAME", a.os_user);
  env("OS_PROJECT_NAME", a.os_project);
  if (!a.os_password_file.empty()) {
    a.os_password = FirstLine(a.os_password_file);
  } else if (std::getenv("OS_PASSWORD")) {
    a.os_password = std::getenv("OS_PASSWORD");
  }
}

// The credential, or nullptr after printing why there is none.
std::unique_ptr<fs::TokenSource> MakeTokens(const Args& a) {
  std::unique_ptr<fs::TokenSource> tokens;
  if (!a.os_user.empty()) {
    tokens = fs::NewPasswordToken(a.api, a.os_user, a.os_password, a.os_project, HttpOptions(a));
    auto first = tokens->Token(true);
    if (!first.ok()) {
      std::fprintf(stderr, "glint-fs: %s\n", first.status().ToString().c_str());
      return nullptr;
    }
  } else if (!a.token.empty()) {
    tokens = fs::NewStaticToken(a.token);
  }
  if (a.api.empty() || !tokens) {
    std::fprintf(stderr, "glint-fs: need --api and a credential: --token/--token-file/OS_AUTH_TOKEN, "
                         "or --os-username with --os-password-file/OS_PASSWORD and --os-project-name\n");
    return nullptr;
  }
  return tokens;
}

std::unique_ptr<fs::DataSource> Fail(const Status& s) {
  std::fprintf(stderr, "glint-fs: %s\n", s.ToString().c_str());
  return nullptr;
}

// The data paths, tried in this order for each image: the file store, rbd, the API; nullptr
// after printing why there is none.
std::unique_ptr<fs::DataSource> MakeSource(Args& a, fs::TokenSource& tokens) {
  std::vector<std::unique_ptr<fs::DataSource>> sources;
  Status s;
  if (!a.store_dir.empty()) {
    auto src = fs::NewFileStoreSource(a.store_dir, &s);
    if (!src) return Fail(s);
    sources.push_back(std::move(src));
  }
  if (a.rbd) {
    a.readahead.window = a.window_mb << 20;
    a.readahead.budget = a.budget_mb << 20;
    a.readahead.threads = std::max(1, a.readahead.depth);
    auto src = fs::NewRbdSource(a.rbd_opt, a.readahead, &s);
    if (!src) return Fail(s);
    sources.push_back(std::move(src));
  }
  if (a.http) sources.push_back(fs::NewHttpSource(a.api, tokens, HttpOptions(a)));
  if (sources.empty()) {
    std::fprintf(stderr, "glint-fs: choose a data path: --store-dir DIR, --rbd or --http (several: tried in that order)\n");
    return nullptr;
  }
  return fs::NewChainSource(std::move(sources));
}

// Seconds a clean exit may spend sending the boot set reports still pending.
constexpr double kShutdownReportSeconds = 2;

// The host cache over `source`, or nullptr after printing why there is none.
std::unique_ptr<fs::HostCache> MakeCache(const Args& a, fs::ImageView& view, fs::DataSource& source) {
  cache::ChunkCacheOptions o;
  o.dir = a.cache_dir;
  auto size = cache::ParseByteSize(a.cache_size);
  if (!size || *size < o.chunk_size) {
    std::fprintf(stderr, "glint-fs: --cache-size takes a size of at least 4M (10G, 512M, ...): %s\n",
                 a.cache_size.c_str());
    return nullptr;
  }
  o.capacity = *size;
  auto cache = cache::ChunkCache::Open(o);
  if (!cache.ok()) {
    std::fprintf(stderr, "glint-fs: %s\n", cache.status().ToString().c_str());
    return nullptr;
  }
  fs::HostCacheOptions ho;
  ho.allow_unverified = a.cache_unverified;
  ho.boot_prefetch = a.boot_seconds > 0;
  ho.keep_whole = a.fs_opt.passthrough;
  ho.fill_whole = a.cache_fill_whole && a.fs_opt.passthrough;
  ho.boot.window_seconds = a.boot_seconds;
  fs::BootSetRemote remote;  // learned boot sets shared through the API
  remote.fetch = [&view](const std::string& id) { return view.BootSetJson(id); };
  remote.report = [&view](const std::string& id, const std::string& body, int timeout_ms) {
    return view.ReportBootSet(id, body, timeout_ms);
  };
  return std::make_unique<fs::HostCache>(
      source, std::move(cache).value(), [&view](const std::string& id) { return view.ManifestJson(id); }, ho,
      SystemClock(), std::move(remote));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"glint-fs: Glint images as read-only files"};
  Args a;
  AddMountOptions(app, a);
  AddAccessOptions(app, a);
  AddCredentialOptions(app, a);
  AddDataOptions(app, a);
  AddCacheOptions(app, a);
  CLI11_PARSE(app, argc, argv);
  if (a.debug) spdlog::set_level(spdlog::level::debug);
  spdlog::flush_on(spdlog::level::info);
  if (!ResolveAccess(a)) return 2;
  FillFromEnvironment(a);
  auto tokens = MakeTokens(a);
  if (!tokens) return 2;
  if (a.fs_opt.refresh_seconds < 1) a.fs_opt.refresh_seconds = 1;
  fs::ImageView view(a.api, *tokens, a.all, HttpOptions(a));
  auto source = MakeSource(a, *tokens);
  if (!source) return 2;
  if (a.cache_dir.empty()) return fs::RunGlintFs(a.mountpoint, view, *source, a.fs_opt);
  auto cache = MakeCache(a, view, *source);
  if (!cache) return 2;
  const int rc = fs::RunGlintFs(a.mountpoint, view, *cache, a.fs_opt, cache.get());
  // Unmounted or SIGTERM, the files closed: boot set reports still pending go now, within
  // a short bound so an unreachable API barely delays the exit.
  cache->SendPendingReports(kShutdownReportSeconds);
  return rc;
}
