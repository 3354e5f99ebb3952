// The parts of comm/ that need no MPI: the naive record codec and the gather layout.
#include <kinv/comm/gather.hpp>
#include <kinv/comm/records.hpp>

#include "test_helpers.hpp"

#include <cstring>

namespace kinv {
namespace {

using namespace comm::records;

std::vector<char> sample_block(const std::vector<double>& a, const std::vector<double>& b) {
  Header h;
  h.scalar = Scalar::Float64;
  h.num_operators = 5;
  h.input = Shape{1, 2, 3};
  std::vector<Record> recs = {{1, Shape{2, 3}, a.data(), static_cast<std::int64_t>(a.size() * 8)},
                              {4, Shape{4}, b.data(), static_cast<std::int64_t>(b.size() * 8)}};
  return encode(h, recs);
}

TEST(NaiveRecords, RoundTrip) {
  const std::vector<double> a = {1, 2, 3, 4, 5, 6}, b = {7, 8, 9, 10};
  const auto bytes = sample_block(a, b);
  const Block blk = decode(bytes.data(), bytes.size(), Scalar::Float64);
  EXPECT_TRUE(blk.header.ok);
  EXPECT_EQ(blk.header.num_operators, 5);
  EXPECT_EQ(blk.header.input, (Shape{1, 2, 3}));
  ASSERT_EQ(blk.records.size(), 2u);
  EXPECT_EQ(blk.records[0].index, 1);
  EXPECT_EQ(blk.records[1].shape, (Shape{4}));
  double got[4];
  std::memcpy(got, blk.records[1].data, sizeof(got));
  EXPECT_EQ(got[3], 10.0);
}

TEST(NaiveRecords, ErrorsTravelInTheHeader) {
  Header h;
  h.ok = false;
  h.kind = "kinv::ShapeError";
  h.what = "bad shape on this rank";
  h.operator_index = 3;
  h.num_operators = 4;
  const auto bytes = encode(h, {});
  const Block blk = decode(bytes.data(), bytes.size(), Scalar::Float32);
  EXPECT_FALSE(blk.header.ok);
  EXPECT_EQ(blk.header.what, "bad shape on this rank");
  EXPECT_EQ(blk.header.operator_index, 3);
}

TEST(NaiveRecords, EveryTruncationAndCorruptionIsAnError) {
  const std::vector<double> a = {1, 2, 3, 4, 5, 6}, b = {7, 8, 9, 10};
  const auto bytes = sample_block(a, b);
  // Every strict prefix is rejected with a ValueError (never a crash).
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_THROW(decode(bytes.data(), n, Scalar::Float64), ValueError) << n;
  // Trailing bytes and the wrong scalar type are rejected.
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_THROW(decode(longer.data(), longer.size(), Scalar::Float64), ValueError);
  EXPECT_THROW(decode(bytes.data(), bytes.size(), Scalar::Float32), ValueError);
  // Flipping any single byte either still decodes or is a ValueError.
  int rejected = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i)
    for (int bit : {0, 7}) {
      auto bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      try {
        decode(bad.data(), bad.size(), Scalar::Float64);
      } catch (const ValueError&) {
        ++rejected;
      }
    }
  EXPECT_GT(rejected, 0);
}

TEST(NaiveRecords, ValuesAreAlignedAndCanBeWrittenInPlace) {
  // Float records whose fields end off the alignment: each record's values still start at an
  // aligned offset, after zero padding.
  const std::vector<float> a = {1, 2}, b = {4, 5, 6, 7, 8};
  Header h;
  h.num_operators = 3;
  h.input = Shape{3};
  std::vector<Record> recs = {{0, Shape{2}, a.data(), 8}, {2, Shape{5}, b.data(), 20}};
  const Plan p = plan(h, recs);
  ASSERT_EQ(p.values_at.size(), 2u);
  for (std::size_t at : p.values_at) EXPECT_EQ(at % value_alignment, 0u) << at;
  const std::size_t fields = 8 + 8 + 12 + 8;  // a's values, then b's index, shape, byte count
  EXPECT_EQ(p.values_at[1], p.values_at[0] + 64)
      << "the " << fields << " bytes of values and fields, zero-padded to 64";
  const auto bytes = encode(h, recs);
  ASSERT_EQ(bytes.size(), p.size);
  // Values computed at their places beforehand, then the rest encoded around them.
  std::vector<char> in_place(p.size, 0x55);
  std::memcpy(in_place.data() + p.values_at[0], a.data(), 8);
  std::memcpy(in_place.data() + p.values_at[1], b.data(), 20);
  std::vector<Record> no_data = recs;
  for (auto& r : no_data) r.data = nullptr;
  encode_into(in_place.data(), h, no_data, p);
  EXPECT_EQ(in_place, bytes);
  const Block blk = decode(in_place.data(), in_place.size(), Scalar::Float32);
  ASSERT_EQ(blk.records.size(), 2u);
  EXPECT_EQ(static_cast<const char*>(blk.records[1].data) - in_place.data(),
            static_cast<std::ptrdiff_t>(p.values_at[1]));
  // A plan for other records is refused; non-zero padding is a malformed block.
  EXPECT_THROW(encode_into(in_place.data(), h, {recs[0]}, p), ValueError);
  auto bad = bytes;
  bad[p.values_at[1] - 1] = 1;  // the last padding byte before b's values
  EXPECT_NO_THROW(decode(bytes.data(), bytes.size(), Scalar::Float32));
  EXPECT_THROW(decode(bad.data(), bad.size(), Scalar::Float32), ValueError);
}

TEST(GatherLayout, ExactCountsRankBlocksAndStatusWords) {
  // 5 operators over 2 ranks, round-robin, shapes of different sizes.
  const std::vector<Shape> shapes = {{2, 3}, {4}, {1}, {5}, {2, 2}};
  const std::vector<int> owner = {0, 1, 0, 1, 0};
  const auto L = comm::GatherLayout::build(Shape{9}, shapes, owner, 2, 1);
  EXPECT_EQ(L.counts, (std::vector<std::int64_t>{6 + 1 + 4 + 1, 4 + 5 + 1}));
  EXPECT_EQ(L.displs, (std::vector<std::int64_t>{0, 12}));
  EXPECT_EQ(L.total, 22);
  EXPECT_EQ(L.offset, (std::vector<std::int64_t>{0, 12, 6, 16, 7}));
  EXPECT_EQ(L.local, (std::vector<std::int64_t>{1, 3}));
  EXPECT_THROW(comm::GatherLayout::build(Shape{9}, shapes, {0, 1, 0, 2, 0}, 2, 0), ValueError);
  // Aligned to 4 elements: rank blocks and results start at multiples of 4, the status word
  // right after each rank's last result.
  const auto A = comm::GatherLayout::build(Shape{9}, shapes, owner, 2, 0, 4);
  EXPECT_EQ(A.offset, (std::vector<std::int64_t>{0, 20, 8, 24, 12}));
  EXPECT_EQ(A.displs, (std::vector<std::int64_t>{0, 20}));
  EXPECT_EQ(A.counts, (std::vector<std::int64_t>{17, 10}));
  EXPECT_EQ(A.total, 30);
  EXPECT_EQ(A.local, (std::vector<std::int64_t>{0, 2, 4}));
  // A rank without operators sends its word alone, at an aligned place.
  const auto E = comm::GatherLayout::build(Shape{9}, {{3}}, {1}, 3, 2, 4);
  EXPECT_EQ(E.displs, (std::vector<std::int64_t>{0, 4, 8}));
  EXPECT_EQ(E.counts, (std::vector<std::int64_t>{1, 4, 1}));
  EXPECT_EQ(E.offset, (std::vector<std::int64_t>{4}));
  EXPECT_EQ(E.total, 9);
  EXPECT_EQ(comm::slot_alignment<float>(), 16);
  EXPECT_EQ(comm::slot_alignment<double>(), 8);
  EXPECT_THROW(comm::GatherLayout::build(Shape{9}, shapes, owner, 2, 0, 0), ValueError);
}

TEST(GatherStrategy, ParsesAndPrints) {
  for (auto s : {GatherStrategy::Naive, GatherStrategy::Concatenated, GatherStrategy::Broadcast})
    EXPECT_EQ(parse_gather_strategy(to_string(s)), s);
  EXPECT_THROW(parse_gather_strategy("Concatenated "), ValueError);
  EXPECT_EQ(parse_reduce("mean"), Reduce::Mean);
  EXPECT_THROW(parse_reduce("max"), ValueError);
}

}  // namespace
}  // namespace kinv
