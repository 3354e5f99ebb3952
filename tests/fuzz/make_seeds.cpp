// Writes the seed inputs of tests/fuzz/corpus/records: valid blocks as the naive gather sends
// them (successes with float and double records, an error header, an empty rank, zero-size and
// rank-0 results). Usage: kinv_fuzz_seeds <directory>. The fuzzer's own finds are added to the
// corpus beside them.
#include <kinv/comm/records.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using namespace kinv;
using namespace kinv::comm::records;

namespace {
void write(const std::string& dir, const std::string& name, const std::vector<char>& bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <directory>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const std::vector<double> d = {1, 2, 3, 4, 5, 6};
  const std::vector<float> f = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

  Header h;
  h.scalar = Scalar::Float64;
  h.num_operators = 5;
  h.input = Shape{1, 2, 3};
  write(dir, "double_two_records",
        encode(h, {{1, Shape{2, 3}, d.data(), 48}, {4, Shape{1, 1, 2, 2}, d.data(), 32}}));
  h.scalar = Scalar::Float32;
  h.num_operators = 3;
  h.input = Shape{1, 1, 3, 4};
  write(dir, "float_three_records",
        encode(h, {{0, Shape{1, 1, 3, 4}, f.data(), 48},
                   {1, Shape{3}, f.data(), 12},
                   {2, Shape{}, f.data(), 4}}));
  write(dir, "float_zero_size", encode(h, {{2, Shape{1, 0, 4}, nullptr, 0}}));
  write(dir, "float_no_records", encode(h, {}));
  Header e;
  e.ok = false;
  e.kind = "kinv::ShapeError";
  e.what = "kinv::ShapeError [rank 1, operator 2]: Blur::A input: expected (1, 1, 8, 8), got (8)";
  e.operator_index = 2;
  e.num_operators = 4;
  e.scalar = Scalar::Float64;
  e.input = Shape{8};
  write(dir, "double_error_header", encode(e, {}));
  std::printf("seeds written to %s\n", dir.c_str());
  return 0;
}
