#include "fs/image_tree.h"

#include <algorithm>
#include <tuple>

namespace glint::fs {

std::string SafeName(const std::string& raw) {
  std::string s;
  for (char c : raw) s.push_back(c == '/' ? '_' : c);
  if (s == "." || s == "..") s = "_" + s;
  if (s.size() > 200) s.resize(200);
  return s;
}

std::string ProjectDirName(const ImageEntry& entry) {
  return entry.owner ? SafeName(*entry.owner) : "_none";
}

ImageTree BuildImageTree(std::vector<ImageEntry> entries) {
  ImageTree t;
  auto created = [](const ImageEntry& e) {
    auto it = e.fields.find("created_at");
    return it == e.fields.end() ? std::string() : it->second;
  };
  std::sort(entries.begin(), entries.end(), [&](const ImageEntry& a, const ImageEntry& b) {
    return std::make_tuple(created(a), a.id) < std::make_tuple(created(b), b.id);
  });
  for (auto& e : entries) {
    if (e.name && !e.name->empty()) {
      std::string n = SafeName(*e.name);
      if (t.names.count(n)) n += "~" + e.id.substr(0, 8);
      t.names[n] = e.id;
    }
    t.projects[ProjectDirName(e)].insert(e.id);
    std::string id = e.id;
    t.images.emplace(id, std::move(e));
  }
  return t;
}

TreeChanges DiffImageTrees(const ImageTree& old_tree, const ImageTree& fresh) {
  TreeChanges c;
  for (const auto& [id, e] : old_tree.images) {
    if (!fresh.images.count(id)) c.dropped_ids.push_back(id);
  }
  for (const auto& [name, id] : old_tree.names) {
    auto it = fresh.names.find(name);
    if (it == fresh.names.end() || it->second != id) c.stale_names.push_back(name);
  }
  for (const auto& [project, ids] : old_tree.projects) {
    auto it = fresh.projects.find(project);
    for (const auto& id : ids) {
      if (it == fresh.projects.end() || !it->second.count(id)) c.stale_links.emplace_back(project, id);
    }
  }
  for (const auto& [id, e] : fresh.images) {
    if (!old_tree.images.count(id)) c.added_ids.push_back(id);
  }
  for (const auto& [name, id] : fresh.names) {
    if (!old_tree.names.count(name)) c.added_names.push_back(name);
  }
  for (const auto& [project, ids] : fresh.projects) {
    auto it = old_tree.projects.find(project);
    if (it == old_tree.projects.end()) c.added_projects.push_back(project);
    for (const auto& id : ids) {
      if (it == old_tree.projects.end() || !it->second.count(id)) c.added_links.emplace_back(project, id);
    }
  }
  return c;
}

}  // namespace glint::fs
