// Kernels of Denoising (the identity) and Decolorize (a weighted sum over the channel axis and
// its transpose, a broadcast times the weights). One output element per index, no atomics.
#pragma once

#include <kinv/core/tensor.hpp>

#include <cstdint>

namespace kinv {
namespace impl {

/// out = in (or out += in).
template <class T, bool Accumulate>
struct IdentityCopy {
  Kokkos::View<const T*, MemorySpace> in;
  Kokkos::View<T*, MemorySpace> out;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    if (Accumulate)
      out(i) += in(i);
    else
      out(i) = in(i);
  }
};

/// x *= s.
template <class T>
struct ScaleInPlace {
  Kokkos::View<T*, MemorySpace> x;
  T s;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const { x(i) *= s; }
};

/// y(b, 0, p) = sum_c w(c) x(b, c, p) for x of shape (B, C, P) (P: the pixels after the
/// channel axis), summed in channel order.
template <class T>
struct ChannelWeightedSum {
  Kokkos::View<const T*, MemorySpace> x;
  Kokkos::View<const T*, MemorySpace> w;
  Kokkos::View<T*, MemorySpace> y;
  std::int64_t C = 1, P = 1;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t idx) const {
    const std::int64_t p = idx % P;
    const std::int64_t b = idx / P;
    const std::int64_t x0 = b * C * P + p;
    T acc = T(0);
    for (std::int64_t c = 0; c < C; ++c) acc += w(c) * x(x0 + c * P);
    y(idx) = acc;
  }
};

/// x(b, c, p) = w(c) y(b, 0, p) (or +=): the transpose of ChannelWeightedSum.
template <class T, bool Accumulate>
struct ChannelBroadcast {
  Kokkos::View<const T*, MemorySpace> y;
  Kokkos::View<const T*, MemorySpace> w;
  Kokkos::View<T*, MemorySpace> x;
  std::int64_t C = 1, P = 1;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t idx) const {
    const std::int64_t p = idx % P;
    const std::int64_t q = idx / P;
    const std::int64_t c = q % C;
    const std::int64_t b = q / C;
    const T v = w(c) * y(b * P + p);
    if (Accumulate)
      x(idx) += v;
    else
      x(idx) = v;
  }
};

/// Pixels of one task of the host block kernels below.
constexpr std::int64_t channel_block = 2048;
/// Pixels summed at once in ChannelWeightedSumBlocks (a local accumulator kept in registers or
/// L1, so the output is written once).
constexpr int channel_tile = 64;

/// Most channels the single-pass host kernels below take (as a template parameter); more go
/// through the block kernels.
constexpr int fused_channels = 4;

/// How far apart (in bytes) the single-pass host kernels keep the write streams of successive
/// channel planes. Planes of a power-of-two size put every stream at the same offset modulo a
/// large power of two; on the development machine three such write streams 128 MiB apart ran at
/// 4.2 GB/s against 13-18 GB/s once 0.5-2 KiB apart (double, 4096^2).
constexpr std::int64_t channel_skew_bytes = 512;

/// ChannelWeightedSum for host backends and NC <= fused_channels channels: task t covers the
/// pixels [p0, p0 + channel_block) of batch entry b = t / blocks in one unit-stride loop that
/// reads every channel plane at once (NC + 1 memory streams, one pass). Channel by channel within
/// a block (the block kernels) ran at 0.42-0.66 of a triad; one pass at 0.94-0.96. Same channel
/// order, so the same bits.
template <class T, int NC>
struct ChannelWeightedSumFused {
  Kokkos::View<const T*, MemorySpace> x;
  Kokkos::View<const T*, MemorySpace> w;
  Kokkos::View<T*, MemorySpace> y;
  std::int64_t P = 1, blocks = 1;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t t) const {
    const std::int64_t b = t / blocks;
    const std::int64_t p0 = (t - b * blocks) * channel_block;
    const std::int64_t len = P - p0 < channel_block ? P - p0 : channel_block;
    const T* in[NC];
    T wc[NC];
    for (int c = 0; c < NC; ++c) {
      in[c] = x.data() + (b * NC + c) * P + p0;
      wc[c] = w(c);
    }
    T* out = y.data() + b * P + p0;
    for (std::int64_t p = 0; p < len; ++p) {
      T acc = T(0) + wc[0] * in[0][p];
      for (int c = 1; c < NC; ++c) acc += wc[c] * in[c][p];
      out[p] = acc;
    }
  }
};

/// ChannelBroadcast for host backends and NC <= fused_channels channels: one unit-stride loop
/// over a block of y writes every channel plane at once (one pass; channel by channel ran at
/// 0.68-0.77 of a triad, one pass at 0.94-0.99). Channel c runs c * channel_skew_bytes behind
/// channel 0 (see there); every element is still written once, with the same value.
template <class T, int NC, bool Accumulate>
struct ChannelBroadcastFused {
  Kokkos::View<const T*, MemorySpace> y;
  Kokkos::View<const T*, MemorySpace> w;
  Kokkos::View<T*, MemorySpace> x;
  std::int64_t P = 1, blocks = 1;

  static constexpr std::int64_t skew = channel_skew_bytes / static_cast<std::int64_t>(sizeof(T));

  KOKKOS_INLINE_FUNCTION static void put(T* out, std::int64_t q, T value) {
    if (Accumulate)
      out[q] += value;
    else
      out[q] = value;
  }

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t t) const {
    const std::int64_t b = t / blocks;
    const std::int64_t p0 = (t - b * blocks) * channel_block;
    const std::int64_t len = P - p0 < channel_block ? P - p0 : channel_block;
    const T* in = y.data() + b * P + p0;
    T* out[NC];
    T wc[NC];
    for (int c = 0; c < NC; ++c) {
      out[c] = x.data() + (b * NC + c) * P + p0;
      wc[c] = w(c);
    }
    // Step p of the main loop writes element p - c * skew of channel c; the elements before
    // and after it are written channel by channel (unit-stride loops of at most span).
    const std::int64_t span = (NC - 1) * skew;
    const auto run = [&](int c, std::int64_t q0, std::int64_t q1) {
      q0 = q0 < 0 ? 0 : q0;
      q1 = q1 < len ? q1 : len;
      for (std::int64_t q = q0; q < q1; ++q) put(out[c], q, wc[c] * in[q]);
    };
    for (int c = 0; c < NC; ++c) run(c, 0, span - c * skew);
    for (std::int64_t p = span; p < len; ++p)
      for (int c = 0; c < NC; ++c) put(out[c], p - c * skew, wc[c] * in[p - c * skew]);
    for (int c = 0; c < NC; ++c) run(c, (span > len ? span : len) - c * skew, len);
  }
};

/// ChannelWeightedSum for host backends without a division per element: task t covers the
/// pixels [p0, p0 + channel_block) of batch entry b = t / blocks, in tiles of channel_tile
/// pixels summed channel by channel in a local accumulator (unit-stride loops the compiler
/// vectorises), then stored once. Same channel order, so the same bits.
template <class T>
struct ChannelWeightedSumBlocks {
  Kokkos::View<const T*, MemorySpace> x;
  Kokkos::View<const T*, MemorySpace> w;
  Kokkos::View<T*, MemorySpace> y;
  std::int64_t C = 1, P = 1, blocks = 1;

  template <int M>
  KOKKOS_INLINE_FUNCTION void tile(const T* in, T* out, std::int64_t len) const {
    T acc[M];
    const T w0 = w(0);
    for (int l = 0; l < M; ++l) acc[l] = T(0) + w0 * in[l];
    for (std::int64_t c = 1; c < C; ++c) {
      const T wc = w(c);
      const T* xc = in + c * P;
      for (int l = 0; l < M; ++l) acc[l] += wc * xc[l];
    }
    for (int l = 0; l < M; ++l)
      if (M > 1 || l < len) out[l] = acc[l];
  }

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t t) const {
    const std::int64_t b = t / blocks;
    const std::int64_t p0 = (t - b * blocks) * channel_block;
    const std::int64_t len = P - p0 < channel_block ? P - p0 : channel_block;
    T* out = y.data() + b * P + p0;
    const T* in = x.data() + b * C * P + p0;
    std::int64_t p = 0;
    for (; p + channel_tile <= len; p += channel_tile)
      tile<channel_tile>(in + p, out + p, channel_tile);
    for (; p < len; ++p) tile<1>(in + p, out + p, 1);
  }
};

/// ChannelBroadcast for host backends: task t covers pixels [p0, p0 + channel_block) of batch
/// entry b = t / blocks in every channel, so the block of y is read from memory once.
template <class T, bool Accumulate>
struct ChannelBroadcastBlocks {
  Kokkos::View<const T*, MemorySpace> y;
  Kokkos::View<const T*, MemorySpace> w;
  Kokkos::View<T*, MemorySpace> x;
  std::int64_t C = 1, P = 1, blocks = 1;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t t) const {
    const std::int64_t b = t / blocks;
    const std::int64_t p0 = (t - b * blocks) * channel_block;
    const std::int64_t len = P - p0 < channel_block ? P - p0 : channel_block;
    const T* in = y.data() + b * P + p0;
    for (std::int64_t c = 0; c < C; ++c) {
      const T wc = w(c);
      T* out = x.data() + (b * C + c) * P + p0;
      if (Accumulate)
        for (std::int64_t p = 0; p < len; ++p) out[p] += wc * in[p];
      else
        for (std::int64_t p = 0; p < len; ++p) out[p] = wc * in[p];
    }
  }
};

}  // namespace impl
}  // namespace kinv
