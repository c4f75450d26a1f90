// Probe: the recogniser of one format, used only by the Inspector. After every fed chunk
// Advance() may declare further regions that the captured ones point to (vhdx's region
// table points to its metadata); Finish() reports the format if its signature matched.
// The region "head" always holds the data's first Inspector::kHeadBytes (fewer when the
// data is shorter); `tail` holds the last bytes of the data.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "format/inspector.h"
#include "format/regions.h"

namespace glint::format {

class Probe {
 public:
  virtual ~Probe() = default;
  virtual void Advance(Regions& regions, int64_t pos) {}
  virtual std::optional<Finding> Finish(const Regions& regions, const std::string& tail, int64_t size) const = 0;
};

std::unique_ptr<Probe> NewQcow2Probe();
std::unique_ptr<Probe> NewVmdkProbe();
std::unique_ptr<Probe> NewVhdProbe();
std::unique_ptr<Probe> NewVhdxProbe();
std::unique_ptr<Probe> NewVdiProbe();
std::unique_ptr<Probe> NewIsoProbe();
std::unique_ptr<Probe> NewLuksProbe();
std::unique_ptr<Probe> NewPartitionTableProbe();

// The head region's captured bytes ("" before any).
const std::string& Head(const Regions& regions);
// Text safe to quote in a message: printable ASCII only, at most `max` characters.
std::string Quote(const std::string& raw, size_t max = 80);

}  // namespace glint::format
