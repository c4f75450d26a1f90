// Inspector: finds out what format image data really is, while it streams past (upload,
// staging, import, copy) or from a few ranged reads (a location added by URL). It is fed
// the bytes in order, keeps only the header regions the formats it knows need (the first
// 64 KiB, the last 512 bytes, and regions found through them, such as vhdx's metadata),
// and never needs the whole image nor a second pass. It knows raw (with GPT and MBR
// partition tables), qcow2, vmdk, vhd, vhdx, vdi, iso and LUKS.
//
// Finish() reports every format whose signature matched (data can match several: an ISO
// with a qcow2 header in its system area), each with its virtual size and the problems
// that make it unsafe or impossible (a qcow2 backing file, vmdk external extents, header
// offsets that cannot be). Deciding what to accept is verdict.h's job. No HTTP, no store.
// One inspector per data stream, used from one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/regions.h"

namespace glint::format {

struct Finding {
  std::string format;     // qcow2, vmdk, vhd, vhdx, vdi, iso, luks; gpt or mbr (raw)
  std::string subformat;  // vmdk's createType, qcow2's version, vhd's disk type
  std::optional<int64_t> virtual_size;
  std::vector<std::string> problems;  // each a sentence saying what was found
  bool raw_variant() const { return format == "gpt" || format == "mbr"; }
};

struct Report {
  int64_t data_size = 0;
  std::vector<Finding> findings;  // empty: plain raw data
};

class Probe;  // one format's recogniser (probes.h)

class Inspector {
 public:
  static constexpr size_t kHeadBytes = 64 * 1024;
  static constexpr size_t kTailBytes = 512;

  Inspector();
  ~Inspector();
  Inspector(const Inspector&) = delete;
  Inspector& operator=(const Inspector&) = delete;

  // The next bytes of the data.
  void Feed(const char* data, size_t n);
  // For ranged reads: the bytes before `offset` will never be fed (regions there are lost).
  void SkipTo(int64_t offset);
  // For ranged reads of data of `total_size` bytes: where the next read should start, or
  // nullopt when the inspector has all it needs (the tail included).
  std::optional<int64_t> NextWanted(int64_t total_size) const;
  int64_t position() const { return pos_; }
  // The data ended (at position()).
  Report Finish() const;

 private:
  Regions regions_;
  std::string tail_;  // the last kTailBytes bytes fed
  int64_t pos_ = 0;
  std::vector<std::unique_ptr<Probe>> probes_;
};

}  // namespace glint::format
