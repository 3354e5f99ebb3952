// Small helpers for the examples: synthetic test images and PNG output through libpng.
#pragma once

#include <kinv/core/tensor.hpp>

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace kinv {
namespace examples {

/// A colourful 512x512-style test image (B = 1, C = 3): smooth gradients, discs and stripes,
/// with values in [0, 1].
template <class T>
Tensor<T> test_image(std::int64_t H, std::int64_t W) {
  std::vector<T> v(static_cast<std::size_t>(3 * H * W));
  for (std::int64_t i = 0; i < H; ++i)
    for (std::int64_t j = 0; j < W; ++j) {
      const double y = (i + 0.5) / H, x = (j + 0.5) / W;
      double r = 0.25 + 0.5 * x, g = 0.25 + 0.5 * y, b = 0.6 - 0.4 * x * y;
      const double d1 = std::hypot(x - 0.35, y - 0.4), d2 = std::hypot(x - 0.7, y - 0.65);
      if (d1 < 0.18) r = 0.95, g = 0.2, b = 0.15;
      if (d2 < 0.12) r = 0.1, g = 0.8, b = 0.3;
      if (y > 0.8 && std::fmod(x * 24.0, 2.0) < 1.0) r = g = b = 0.95;
      if (x > 0.85 && y < 0.3) r = g = b = (std::fmod(y * 40.0, 2.0) < 1.0) ? 0.05 : 0.9;
      const std::size_t p = static_cast<std::size_t>(i * W + j);
      v[p] = static_cast<T>(r);
      v[static_cast<std::size_t>(H * W) + p] = static_cast<T>(g);
      v[static_cast<std::size_t>(2 * H * W) + p] = static_cast<T>(b);
    }
  return from_vector<T>("test_image", {1, 3, H, W}, v);
}

/// Writes batch 0 of a (B, C, H, W) tensor as an 8-bit PNG: RGB when C == 3, else channel 0
/// in grey. Values are scaled linearly from [lo, hi]; lo == hi means the tensor's own range.
template <class T>
void write_png(const std::string& path, const Tensor<T>& t, double lo = 0, double hi = 0) {
  if (t.rank() != 4) throw std::runtime_error("write_png: need a (B, C, H, W) tensor");
  const auto v = to_vector(t);
  const std::int64_t C = t.extent(1), H = t.extent(2), W = t.extent(3);
  const int channels = C == 3 ? 3 : 1;
  if (lo == hi) {
    const auto n = static_cast<std::size_t>(channels * H * W);
    const auto mm = std::minmax_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n));
    lo = *mm.first;
    hi = *mm.second > *mm.first ? *mm.second : *mm.first + 1;
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("write_png: cannot open " + path);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (!png || !info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
    throw std::runtime_error("write_png: libpng failed on " + path);
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, static_cast<png_uint_32>(W), static_cast<png_uint_32>(H), 8,
               channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  std::vector<png_byte> row(static_cast<std::size_t>(channels * W));
  for (std::int64_t i = 0; i < H; ++i) {
    for (std::int64_t j = 0; j < W; ++j)
      for (int c = 0; c < channels; ++c) {
        const double x = (v[static_cast<std::size_t>((c * H + i) * W + j)] - lo) / (hi - lo);
        row[static_cast<std::size_t>(j * channels + c)] =
            static_cast<png_byte>(std::lround(255.0 * std::clamp(x, 0.0, 1.0)));
      }
    png_write_row(png, row.data());
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(f);
}

}  // namespace examples
}  // namespace kinv
