// DataSweeper: recovery after crashes, and data removal. Releases upload locks that nobody
// renews any more (at startup, every lock this node held: it restarted), finishes deletes
// a crash cut short, removes partial uploads no live lock owns, committed data no catalog
// location references, and staged data no import waits for. Safe to run while serving,
// on any number of nodes: every decision is made from catalog rows.
#pragma once

#include "catalog/image_record.h"
#include "common/status.h"
#include "control/api_context.h"

namespace glint::control {

class DataSweeper {
 public:
  explicit DataSweeper(ApiContext& api) : api_(api) {}

  // Releases expired upload locks, so those images are queued again. Fast.
  Status RecoverUploads(bool at_startup);
  // The store sweep. May be slow (an RBD image with a dead client's lock). Returns how
  // many objects are debris but could not be removed yet (an RBD image a dead client
  // still watches until its watch times out): worth another sweep soon.
  Result<int> Sweep();
  // Deletes an image's data after its row was marked deleted; on failure the locations
  // stay pending and the next sweep retries.
  void RemoveData(const catalog::ImageRecord& img);

 private:
  Status SweepOne(store::Backend& backend, int* left);
  Status SweepStaging();
  // `scratch`: a plugin's output, kept only while its image is importing.
  Status SweepStagingArea(store::Backend& area, bool scratch);
  ApiContext& api_;
};

}  // namespace glint::control
