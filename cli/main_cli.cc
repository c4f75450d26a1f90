// glint: command-line client with python-glanceclient's subcommand names and flags for
// the everyday image lifecycle and import. Talks to any Glance v2 compatible endpoint.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "cli/output.h"

using namespace glint::cli;

int main(int argc, char** argv) {
  CLI::App app{"glint: command-line client for the Glint (Glance v2) image service"};
  app.require_subcommand(1);
  Globals g;
  g.url = Env("OS_IMAGE_URL");
  g.token = Env("OS_AUTH_TOKEN");
  app.add_option("--os-image-url", g.url, "image service URL (env OS_IMAGE_URL)");
  auto* token = app.add_option("--os-auth-token", g.token, "token (prefer env OS_AUTH_TOKEN: argv is visible to all)");
  for (auto add : {AddImageCommands, AddImageListCommands, AddTagActionCommands, AddMemberCommands,
                   AddStoreCommands, AddLocationCommands, AddImportCommands, AddTaskCommands, AddCacheCommands,
                   AddImageCacheCommands}) {
    add(app, g);
  }
  app.parse_complete_callback([token] {
    if (token->count() > 0) {
      std::fprintf(stderr, "glint: warning: --os-auth-token puts a secret on the command line, where every local "
                           "user can read it (ps); use $OS_AUTH_TOKEN\n");
    }
  });
  CLI11_PARSE(app, argc, argv);
  return 0;
}
