// The `glint` subcommands, one group per file. Each Add* registers its subcommands on the
// app; option values live in function statics because CLI11 writes them while parsing,
// after the Add* call has returned.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/api.h"

namespace glint::cli {

void AddImageCommands(CLI::App& app, Globals& g);     // image_commands.cc
void AddImageListCommands(CLI::App& app, Globals& g);  // image_commands.cc
void AddTagActionCommands(CLI::App& app, Globals& g);  // share_commands.cc
void AddMemberCommands(CLI::App& app, Globals& g);     // share_commands.cc
void AddStoreCommands(CLI::App& app, Globals& g);      // store_commands.cc
void AddLocationCommands(CLI::App& app, Globals& g);   // store_commands.cc
void AddImportCommands(CLI::App& app, Globals& g);     // import_commands.cc
void AddTaskCommands(CLI::App& app, Globals& g);       // import_commands.cc
void AddCacheCommands(CLI::App& app, Globals& g);      // cache_commands.cc (a glint-fs mount's host cache)
void AddImageCacheCommands(CLI::App& app, Globals& g);  // cache_api_commands.cc (an API node's image cache)

}  // namespace glint::cli
