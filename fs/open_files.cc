#include "fs/open_files.h"

namespace glint::fs {

std::shared_ptr<const std::atomic<bool>> OpenFiles::Hold(const ImageEntry& image) {
  Held& h = held_[image.id];
  h.entry = image;
  h.handles++;
  if (!h.gone) h.gone = std::make_shared<std::atomic<bool>>(false);
  return h.gone;
}

void OpenFiles::Release(const std::string& id) {
  auto it = held_.find(id);
  if (it != held_.end() && --it->second.handles <= 0) held_.erase(it);
}

const ImageEntry* OpenFiles::Find(const std::string& id) const {
  auto it = held_.find(id);
  return it == held_.end() ? nullptr : &it->second.entry;
}

void OpenFiles::MarkDeleted(const std::string& id) {
  auto it = held_.find(id);
  if (it != held_.end()) it->second.gone->store(true);
}

}  // namespace glint::fs
