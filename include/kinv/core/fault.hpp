// Fault injection for kinv's own tests: named points in the library where a test can make the
// next passage fail the way a real fault would (a corrupted message, a failed allocation), to
// check that every rank then gets the same clear error. Nothing is armed unless a test arms it;
// an unarmed point costs one relaxed atomic load.
#pragma once

namespace kinv {
namespace impl {
namespace fault {

enum class Point : int {
  /// The naive gather's block from this rank gets a corrupted byte (its format version).
  NaiveCorruptBlock = 0,
  /// The naive gather's block from this rank claims 64 bytes more than it holds.
  NaiveWrongSize,
  /// The gather and reduction buffers' next allocation on this rank fails (as out of memory).
  GatherAllocation,
  Count
};

/// Makes the next `times` passages through `point` on this process fail.
void arm(Point point, int times = 1) noexcept;
/// Disarms every point on this process.
void disarm_all() noexcept;
/// Whether this passage through `point` fails (and counts it).
bool fire(Point point) noexcept;

}  // namespace fault
}  // namespace impl
}  // namespace kinv
