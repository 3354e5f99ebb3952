// The byte format of the `naive` gather strategy: each rank serialises a header (its status,
// the input shape, the stack size) and one record (index, shape, scalar type, bytes) per local
// result into a host buffer. Decoding validates every field, so a malformed or hostile buffer
// gives a kinv::Error, never a crash or a wrong tensor.
//
// Each record's values start at a multiple of `value_alignment` bytes from the block's start
// (zero padding before them), so that a block placed at an aligned address is read in place:
// the values can be computed straight into their place (plan() says where) and the received
// values used where they landed, without a copy.
#pragma once

#include <kinv/core/shape.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace kinv {
namespace comm {
namespace records {

/// Scalar type tags.
enum class Scalar : std::uint8_t { Float32 = 1, Float64 = 2 };

template <class T>
constexpr Scalar scalar_of();
template <>
constexpr Scalar scalar_of<float>() {
  return Scalar::Float32;
}
template <>
constexpr Scalar scalar_of<double>() {
  return Scalar::Float64;
}
inline std::size_t scalar_size(Scalar s) { return s == Scalar::Float32 ? 4 : 8; }

struct Header {
  bool ok = true;
  std::string kind;                  ///< error kind when !ok
  std::string what;                  ///< error message when !ok
  std::int64_t operator_index = -1;  ///< failing operator when !ok
  Scalar scalar = Scalar::Float32;
  std::int64_t num_operators = 0;
  Shape input;
};

/// One result as encoded: where its values are in the source buffer.
struct Record {
  std::int64_t index = -1;
  Shape shape;
  const void* data = nullptr;  ///< encode: values to copy; decode: points into the block
  std::int64_t bytes = 0;
};

/// One rank's decoded block.
struct Block {
  Header header;
  std::vector<Record> records;
};

/// Record values start at a multiple of this many bytes from the start of their block (a cache
/// line: in a buffer aligned like a lone allocation, vendor libraries computing into the values
/// or reading them pick the same kernels as on a lone result).
constexpr std::size_t value_alignment = 64;

/// Where the parts of an encoded block go.
struct Plan {
  std::size_t size = 0;                ///< the block's bytes
  std::vector<std::size_t> values_at;  ///< per record, where its values start
};

/// The layout encode_into() writes for this header and these records (their data unused).
/// Throws ValueError when a record's byte count is negative.
Plan plan(const Header& header, const std::vector<Record>& records);

/// Writes the block of `plan` (from plan(header, records)) to out[0, plan.size): the header,
/// every record's fields and padding, and the values of the records whose data is set; the
/// values of a record with data == nullptr are left as they are (computed there beforehand).
void encode_into(char* out, const Header& header, const std::vector<Record>& records,
                 const Plan& plan);

/// Serialises a header and records (record i's values are read from records[i].data).
std::vector<char> encode(const Header& header, const std::vector<Record>& records);

/// Parses one block of `size` bytes; every field is checked against the buffer bounds and
/// against `expected_scalar`. Throws kinv::ValueError naming the field on any inconsistency.
/// Returned records point into `bytes`.
Block decode(const char* bytes, std::size_t size, Scalar expected_scalar);

constexpr std::uint32_t magic = 0x4B494E56u;  // "KINV"
constexpr std::uint16_t version = 3;          // 2: values aligned to 8 bytes; 3: to 64

}  // namespace records
}  // namespace comm
}  // namespace kinv
