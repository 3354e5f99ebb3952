// Reads the deepinv reference files in tests/data/ ("<name> <rank> <extents...>" lines, each
// followed by a line of values; '#' lines are comments) and compares results with them.
#pragma once

#include <kinv/core/tensor.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace kinv {
namespace test {

struct RefTensor {
  Shape shape;
  std::vector<double> values;
};

inline std::map<std::string, RefTensor> read_reference_file(const std::string& file) {
  const std::string path = std::string(KINV_TEST_DATA_DIR) + "/" + file;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::map<std::string, RefTensor> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream head(line);
    std::string name;
    int rank = 0;
    head >> name >> rank;
    std::vector<std::int64_t> extents(static_cast<std::size_t>(rank));
    for (auto& e : extents) head >> e;
    RefTensor t{Shape(extents), {}};
    std::getline(in, line);
    std::istringstream body(line);
    double v;
    while (body >> v) t.values.push_back(v);
    EXPECT_EQ(static_cast<std::int64_t>(t.values.size()), t.shape.size()) << name;
    out[name] = t;
  }
  return out;
}

/// The reference values as a Tensor<T> (rounded to T).
template <class T>
Tensor<T> ref_tensor(const std::map<std::string, RefTensor>& ref, const std::string& name) {
  const auto it = ref.find(name);
  if (it == ref.end()) {
    ADD_FAILURE() << "no tensor '" << name << "' in the reference file";
    return Tensor<T>("missing", {1});
  }
  std::vector<T> v(it->second.values.begin(), it->second.values.end());
  return from_vector<T>(name, it->second.shape, v);
}

/// Largest |got - ref| / max(1, |ref|) (infinite when the shapes differ).
template <class T>
double ref_relative_error(const Tensor<T>& got, const std::map<std::string, RefTensor>& ref,
                          const std::string& name) {
  const auto it = ref.find(name);
  if (it == ref.end() || got.shape() != it->second.shape)
    return std::numeric_limits<double>::infinity();
  const auto g = to_vector(got);
  double worst = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    const double r = it->second.values[i];
    worst = std::max(worst, std::fabs(static_cast<double>(g[i]) - r) / std::max(1.0, std::fabs(r)));
  }
  return worst;
}

}  // namespace test
}  // namespace kinv
