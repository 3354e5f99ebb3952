# Spack package for kinv. From a checkout:
#   spack repo add <kinv>/spack
#   spack dev-build -d <kinv> kinv@main +openmp      (or +cuda cuda_arch=90, +rocm amdgpu_target=gfx90a)
from spack.package import *


class Kinv(CMakePackage, CudaPackage, ROCmPackage):
    """Distributed stacked physics (DeepInverse's deepinv.distributed) for Kokkos codes."""

    version("main")

    variant("mpi", default=True, description="Distribute stacks over MPI ranks")
    variant("openmp", default=False, description="Kokkos OpenMP backend")
    variant("tests", default=False, description="Build the unit, MPI and install tests")
    variant("benchmarks", default=False, description="Build the Google Benchmark programs")
    variant("fft", default=True, description="FFT layer and FFT-based operators (MRI, BlurFFT)")
    variant("gpu_aware_mpi", default=False, description="Hand device buffers to MPI directly")

    depends_on("cxx", type="build")
    depends_on("cmake@3.22:", type="build")
    depends_on("kokkos@4:")
    depends_on("kokkos-kernels@4:")
    depends_on("mpi", when="+mpi")
    # FFT backend: FFTW on host builds, cuFFT (in the CUDA toolkit) or hipFFT on GPUs.
    depends_on("fftw@3 precision=float,double", when="+fft ~cuda ~rocm")
    depends_on("hipfft", when="+fft +rocm")
    depends_on("googletest", type="test", when="+tests")
    depends_on("benchmark", when="+benchmarks")

    depends_on("kokkos+openmp", when="+openmp")
    depends_on("kokkos-kernels+openmp", when="+openmp")
    depends_on("kokkos+cuda+wrapper", when="+cuda")
    depends_on("kokkos-kernels+cuda", when="+cuda")
    depends_on("kokkos+rocm", when="+rocm")
    depends_on("kokkos-kernels+rocm", when="+rocm")
    for arch in CudaPackage.cuda_arch_values:
        depends_on(f"kokkos cuda_arch={arch}", when=f"+cuda cuda_arch={arch}")
        depends_on(f"kokkos-kernels cuda_arch={arch}", when=f"+cuda cuda_arch={arch}")
    for target in ROCmPackage.amdgpu_targets:
        depends_on(f"kokkos amdgpu_target={target}", when=f"+rocm amdgpu_target={target}")
        depends_on(f"kokkos-kernels amdgpu_target={target}", when=f"+rocm amdgpu_target={target}")

    conflicts("+cuda", when="cuda_arch=none", msg="kinv +cuda needs a cuda_arch")
    conflicts("+rocm", when="amdgpu_target=none", msg="kinv +rocm needs an amdgpu_target")
    conflicts("+cuda", when="+rocm", msg="choose one GPU backend")
    conflicts("+gpu_aware_mpi", when="~mpi")

    def cmake_args(self):
        spec = self.spec
        args = [
            self.define_from_variant("KINV_ENABLE_MPI", "mpi"),
            self.define_from_variant("KINV_ENABLE_FFT", "fft"),
            self.define_from_variant("KINV_ENABLE_TESTS", "tests"),
            self.define_from_variant("KINV_ENABLE_BENCHMARKS", "benchmarks"),
            self.define("KINV_ENABLE_EXAMPLES", False),
            self.define("Kokkos_ROOT", spec["kokkos"].prefix),
            self.define("KokkosKernels_ROOT", spec["kokkos-kernels"].prefix),
        ]
        # The C++ compiler Kokkos was built with (nvcc_wrapper for CUDA, hipcc for ROCm).
        if "+cuda" in spec:
            args.append(self.define("CMAKE_CXX_COMPILER", spec["kokkos"].kokkos_cxx))
        elif "+rocm" in spec:
            args.append(self.define("CMAKE_CXX_COMPILER", spec["hip"].hipcc))
        return args

    def setup_run_environment(self, env):
        if self.spec.satisfies("+gpu_aware_mpi"):
            env.set("KINV_GPU_AWARE_MPI", "1")
