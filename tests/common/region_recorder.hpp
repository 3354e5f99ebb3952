// Records the Kokkos Tools regions pushed while it lives (as a profiling tool would see them).
#pragma once

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace kinv {
namespace test {

class RegionRecorder {
 public:
  RegionRecorder() {
    Kokkos::fence();
    names().clear();
    depth() = 0;
    max_depth() = 0;
    Kokkos::Tools::Experimental::set_push_region_callback(&push);
    Kokkos::Tools::Experimental::set_pop_region_callback(&pop);
  }
  ~RegionRecorder() { stop(); }
  RegionRecorder(const RegionRecorder&) = delete;
  RegionRecorder& operator=(const RegionRecorder&) = delete;

  void stop() {
    Kokkos::Tools::Experimental::set_push_region_callback(nullptr);
    Kokkos::Tools::Experimental::set_pop_region_callback(nullptr);
  }
  /// Region names in the order they were pushed.
  const std::vector<std::string>& pushed() const { return names(); }
  /// Regions pushed and not yet popped.
  int open() const { return depth(); }
  int deepest() const { return max_depth(); }
  bool saw(const std::string& name) const {
    return std::find(names().begin(), names().end(), name) != names().end();
  }
  void clear() {
    names().clear();
    max_depth() = depth();
  }

 private:
  static std::vector<std::string>& names() {
    static std::vector<std::string> v;
    return v;
  }
  static int& depth() {
    static int d = 0;
    return d;
  }
  static int& max_depth() {
    static int d = 0;
    return d;
  }
  static void push(const char* name) {
    names().emplace_back(name);
    max_depth() = std::max(max_depth(), ++depth());
  }
  static void pop() { --depth(); }
};

}  // namespace test
}  // namespace kinv
