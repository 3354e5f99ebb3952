// The one place that chooses kinv's FFT backend, at compile time from the Kokkos build: cuFFT
// for CUDA, hipFFT for HIP, FFTW 3 for host execution spaces. Included by src/fft only.
#pragma once

#include <kinv/fft/fft.hpp>

#if defined(KOKKOS_ENABLE_CUDA)
#include <kinv/fft/impl/cufft_backend.hpp>
#elif defined(KOKKOS_ENABLE_HIP)
#include <kinv/fft/impl/hipfft_backend.hpp>
#elif defined(KOKKOS_ENABLE_SYCL) || defined(KOKKOS_ENABLE_OPENMPTARGET)
#error \
    "kinv's FFT layer supports host spaces (FFTW), CUDA (cuFFT) and HIP (hipFFT); configure with -DKINV_ENABLE_FFT=OFF"
#else
#include <kinv/fft/impl/fftw_backend.hpp>
#endif
