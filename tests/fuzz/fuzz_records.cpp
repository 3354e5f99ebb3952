// Fuzz target for the `naive` gather's record decoder (comm::records::decode), the one place
// where kinv parses bytes another process wrote. For every input, decode() must either throw a
// kinv::ValueError or return a block that is consistent with the bytes it came from:
//   - every record's values lie inside the input, and hold exactly shape.numel() scalars;
//   - indices are in [0, num_operators), the record count is at most num_operators;
//   - encoding the decoded block again reproduces the input byte for byte (the format has one
//     encoding per block: zero padding, no trailing bytes).
// Anything else (another exception, a crash, a sanitizer report) is a defect. Built with
// libFuzzer (clang's -fsanitize=fuzzer) by tests/fuzz/CMakeLists.txt, and replayed over the
// corpus in tests/fuzz/corpus by every test build (replay_main.cpp).
#include <kinv/comm/records.hpp>
#include <kinv/core/error.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_records: %s\n", what);
  std::abort();
}

void check_block(const kinv::comm::records::Block& b, const char* bytes, std::size_t size) {
  using namespace kinv::comm::records;
  if (b.header.num_operators < 0) fail("negative operator count accepted");
  if (static_cast<std::int64_t>(b.records.size()) > b.header.num_operators)
    fail("more records than operators accepted");
  const std::size_t elem = scalar_size(b.header.scalar);
  for (const Record& r : b.records) {
    if (r.index < 0 || r.index >= b.header.num_operators) fail("record index out of range");
    if (r.bytes < 0 ||
        static_cast<std::uint64_t>(r.bytes) != static_cast<std::uint64_t>(r.shape.size()) * elem)
      fail("record byte count does not match its shape");
    const char* p = static_cast<const char*>(r.data);
    if (p < bytes || p > bytes + size ||
        static_cast<std::size_t>(r.bytes) > static_cast<std::size_t>(bytes + size - p))
      fail("record values outside the input");
    if (static_cast<std::size_t>(p - bytes) % value_alignment != 0)
      fail("record values not aligned in their block");
  }
  const std::vector<char> again = encode(b.header, b.records);
  if (again.size() != size || (size && std::memcmp(again.data(), bytes, size) != 0))
    fail("decode then encode does not reproduce the input");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kinv::comm::records;
  // The receiving side reads blocks in place from an aligned buffer; so does the fuzzer.
  std::vector<std::uint64_t> aligned((size + 7) / 8 + 1);
  char* bytes = reinterpret_cast<char*>(aligned.data());
  if (size) std::memcpy(bytes, data, size);
  for (Scalar s : {Scalar::Float32, Scalar::Float64}) {
    try {
      check_block(decode(bytes, size, s), bytes, size);
    } catch (const kinv::ValueError&) {
      // A malformed block: the documented outcome.
    }
  }
  return 0;
}
