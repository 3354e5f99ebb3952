#include <kinv/core/fault.hpp>

#include <atomic>

namespace kinv {
namespace impl {
namespace fault {

namespace {
std::atomic<int> armed[static_cast<int>(Point::Count)];
}  // namespace

void arm(Point point, int times) noexcept {
  armed[static_cast<int>(point)].store(times, std::memory_order_relaxed);
}

void disarm_all() noexcept {
  for (auto& a : armed) a.store(0, std::memory_order_relaxed);
}

bool fire(Point point) noexcept {
  auto& a = armed[static_cast<int>(point)];
  int left = a.load(std::memory_order_relaxed);
  while (left > 0)
    if (a.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) return true;
  return false;
}

}  // namespace fault
}  // namespace impl
}  // namespace kinv
