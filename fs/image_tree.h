// ImageTree: the names one image listing produces under by-id/, by-name/ and by-project/,
// built once per refresh from ImageView's entries, and what changed between two trees.
//
// Pure values: built on the refresh thread, then swapped into MountState under its lock
// and read by libfuse worker threads.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fs/image_view.h"

namespace glint::fs {

struct ImageTree {
  std::map<std::string, ImageEntry> images;               // by-id: id -> entry
  std::map<std::string, std::string> names;               // by-name: entry -> id
  std::map<std::string, std::set<std::string>> projects;  // by-project: dir -> ids
};

// A name safe for a directory entry: no '/', not "." or "..", at most 200 bytes.
std::string SafeName(const std::string& raw);
// The by-project directory of an image: its owner, or "_none".
std::string ProjectDirName(const ImageEntry& entry);

// Duplicate names: the oldest image (created_at, then id) keeps the plain name, the others
// get "<name>~<first 8 hex of id>", so a name stays put as long as its oldest image exists.
ImageTree BuildImageTree(std::vector<ImageEntry> entries);

// What a refresh changes in the tree, for dropping state and invalidating kernel caches
// (removed names, and new names the kernel may remember as missing).
struct TreeChanges {
  std::vector<std::string> dropped_ids;                          // left by-id/
  std::vector<std::string> stale_names;                          // left by-name/ or moved
  std::vector<std::pair<std::string, std::string>> stale_links;  // (project, id) left
  std::vector<std::string> added_ids;                            // new in by-id/
  std::vector<std::string> added_names;                          // new in by-name/
  std::vector<std::string> added_projects;                       // new in by-project/
  std::vector<std::pair<std::string, std::string>> added_links;  // (project, id) new
};
TreeChanges DiffImageTrees(const ImageTree& old_tree, const ImageTree& fresh);

}  // namespace glint::fs
