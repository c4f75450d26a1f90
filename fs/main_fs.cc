// glint-fs: mounts the images a credential may read as read-only files.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <fstream>

#include "fs/data_source.h"
#include "fs/glint_fs.h"
#include "fs/image_view.h"

using namespace glint;

int main(int argc, char** argv) {
  CLI::App app{"glint-fs: Glint images as read-only files"};
  std::string mountpoint, api, token, token_file, store_dir;
  bool http = false, debug = false;
  fs::FsOptions opt;
  app.add_option("mountpoint", mountpoint, "where to mount")->required();
  app.add_option("--api", api, "Glint API URL (env OS_IMAGE_URL)");
  app.add_option("--token", token, "token (env OS_AUTH_TOKEN)");
  app.add_option("--token-file", token_file, "read the token from this file");
  std::string os_user, os_password, os_password_file, os_project;
  app.add_option("--os-username", os_user, "built-in identity user (env OS_USERNAME)");
  app.add_option("--os-password-file", os_password_file, "file holding the user's password");
  app.add_option("--os-project-name", os_project, "project to scope to (env OS_PROJECT_NAME)");
  app.add_option("--store-dir", store_dir, "file store directory to read data from directly");
  app.add_flag("--http", http, "read data through the API (hosts without store access)");
  bool rbd = false;
  store::RbdOptions rbd_opt;
  app.add_flag("--rbd", rbd, "read rbd-backed images through librbd");
  app.add_option("--rbd-pool", rbd_opt.pool, "RBD pool of the images (rbd_store_pool)");
  app.add_option("--rbd-user", rbd_opt.user, "cephx user without client. (rbd_store_user)");
  app.add_option("--ceph-conf", rbd_opt.ceph_conf, "Ceph config file (rbd_store_ceph_conf)");
  fs::ReadAheadOptions readahead;
  size_t window_mb = readahead.window >> 20, budget_mb = readahead.budget >> 20;
  app.add_option("--rbd-readahead", readahead.depth, "rbd: windows read ahead, in parallel (0: off)");
  app.add_option("--rbd-readahead-window-mb", window_mb, "rbd: size of one read-ahead window");
  app.add_option("--rbd-readahead-budget-mb", budget_mb, "rbd: memory for read-ahead across open files");
  app.add_option("--refresh", opt.refresh_seconds, "seconds between (conditional) API polls");
  app.add_option("--threads", opt.max_threads, "FUSE worker threads");
  app.add_option("--kernel-readahead-kb", opt.kernel_readahead_kb,
                 "the mount's kernel read-ahead (read_ahead_kb; 0: kernel default)");
  app.add_option("-o", opt.mount_options, "extra mount options");
  bool all = false;
  app.add_flag("--all", all, "list every image the credential may read (visibility=all; for admins)");
  app.add_flag("--debug", debug, "verbose logging");
  CLI11_PARSE(app, argc, argv);
  if (debug) spdlog::set_level(spdlog::level::debug);
  spdlog::flush_on(spdlog::level::info);
  if (api.empty() && std::getenv("OS_IMAGE_URL")) api = std::getenv("OS_IMAGE_URL");
  if (token.empty() && std::getenv("OS_AUTH_TOKEN")) token = std::getenv("OS_AUTH_TOKEN");
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    std::getline(in, token);
  }
  if (os_user.empty() && std::getenv("OS_USERNAME")) os_user = std::getenv("OS_USERNAME");
  if (os_project.empty() && std::getenv("OS_PROJECT_NAME")) os_project = std::getenv("OS_PROJECT_NAME");
  if (!os_password_file.empty()) {
    std::ifstream in(os_password_file);
    std::getline(in, os_password);
  } else if (std::getenv("OS_PASSWORD")) {
    os_password = std::getenv("OS_PASSWORD");
  }
  std::unique_ptr<fs::TokenSource> tokens;
  if (!os_user.empty()) {
    tokens = fs::NewPasswordToken(api, os_user, os_password, os_project);
    auto first = tokens->Token(true);
    if (!first.ok()) {
      std::fprintf(stderr, "glint-fs: %s\n", first.status().ToString().c_str());
      return 2;
    }
  } else if (!token.empty()) {
    tokens = fs::NewStaticToken(token);
  }
  if (api.empty() || !tokens) {
    std::fprintf(stderr, "glint-fs: need --api and a credential: --token/--token-file/OS_AUTH_TOKEN, "
                         "or --os-username with --os-password-file/OS_PASSWORD and --os-project-name\n");
    return 2;
  }
  if (opt.refresh_seconds < 1) opt.refresh_seconds = 1;
  fs::ImageView view(api, *tokens, all);
  // Data paths, tried in this order for each image: the file store, rbd, the API.
  std::vector<std::unique_ptr<fs::DataSource>> sources;
  if (!store_dir.empty()) {
    Status s;
    auto src = fs::NewFileStoreSource(store_dir, &s);
    if (!src) {
      std::fprintf(stderr, "glint-fs: %s\n", s.ToString().c_str());
      return 2;
    }
    sources.push_back(std::move(src));
  }
  if (rbd) {
    Status s;
    readahead.window = window_mb << 20;
    readahead.budget = budget_mb << 20;
    readahead.threads = std::max(1, readahead.depth);
    auto src = fs::NewRbdSource(rbd_opt, readahead, &s);
    if (!src) {
      std::fprintf(stderr, "glint-fs: %s\n", s.ToString().c_str());
      return 2;
    }
    sources.push_back(std::move(src));
  }
  if (http) sources.push_back(fs::NewHttpSource(api, *tokens));
  if (sources.empty()) {
    std::fprintf(stderr, "glint-fs: choose a data path: --store-dir DIR, --rbd or --http (several: tried in that order)\n");
    return 2;
  }
  auto source = fs::NewChainSource(std::move(sources));
  return fs::RunGlintFs(mountpoint, view, *source, opt);
}
