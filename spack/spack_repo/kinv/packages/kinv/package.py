# Spack package for kinv (Spack >= 1.0, package API v2).
#
# From a kinv checkout:
#   spack repo add spack/spack_repo/kinv
#   spack install kinv +openmp                 (or +cuda cuda_arch=90, +rocm amdgpu_target=gfx90a)
# or, to build the working tree itself, the developer environment in spack/spack.yaml
# (see "Installing with Spack" in the README).
import os

from spack_repo.builtin.build_systems.cmake import CMakePackage
from spack_repo.builtin.build_systems.cuda import CudaPackage
from spack_repo.builtin.build_systems.rocm import ROCmPackage

from spack.package import *

#: The kinv checkout that holds this package repository
#: (<checkout>/spack/spack_repo/kinv/packages/kinv/package.py).
KINV_CHECKOUT = os.path.realpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), *([os.pardir] * 5))
)


class Kinv(CMakePackage, CudaPackage, ROCmPackage):
    """Distributed stacked physics for Kokkos codes: DeepInverse's distributed physics
    (deepinv.distributed) as Kokkos kernels, with stacked forward models spread over MPI
    ranks and their results gathered on device buffers."""

    # kinv is built from the git checkout this package repository is part of: `spack install
    # kinv@main` clones its committed main branch; `spack develop` (spack/spack.yaml) builds
    # the working tree instead.
    homepage = f"file://{KINV_CHECKOUT}/README.md"
    git = f"file://{KINV_CHECKOUT}"

    test_requires_compiler = True

    version("main", branch="main")

    variant("mpi", default=True, description="Distribute stacks over MPI ranks")
    variant("openmp", default=False, description="Use the OpenMP backend of Kokkos")
    variant(
        "fft",
        default=True,
        description="FFT layer and FFT-based operators (MRI, BlurFFT): FFTW, cuFFT or hipFFT",
    )
    variant("shared", default=True, description="Build a shared library")
    variant("tests", default=False, description="Build the unit, MPI and install tests")
    variant("benchmarks", default=False, description="Build the Google Benchmark programs")
    variant(
        "gpu_aware_mpi",
        default=False,
        description="Hand device buffers to MPI directly (sets KINV_GPU_AWARE_MPI=1 at run time)",
    )

    # Kokkos builds for one GPU architecture at a time, so kinv takes a single value as well.
    variant(
        "cuda_arch",
        description="CUDA architecture",
        values=("none",) + CudaPackage.cuda_arch_values,
        default="none",
        multi=False,
        sticky=True,
        when="+cuda",
    )
    variant(
        "amdgpu_target",
        description="AMD GPU architecture",
        values=("none",) + ROCmPackage.amdgpu_targets,
        default="none",
        multi=False,
        sticky=True,
        when="+rocm",
    )

    depends_on("cxx", type="build")
    depends_on("cmake@3.22:", type="build")

    depends_on("kokkos@4:")
    depends_on("kokkos-kernels@4:")
    depends_on("mpi", when="+mpi")

    # Host backend
    depends_on("kokkos+openmp", when="+openmp")
    depends_on("kokkos-kernels+openmp", when="+openmp")

    # CUDA: Kokkos with nvcc_wrapper, the architecture passed down to Kokkos and Kokkos Kernels
    depends_on("kokkos+cuda+wrapper", when="+cuda")
    depends_on("kokkos-kernels+cuda", when="+cuda")
    for _arch in CudaPackage.cuda_arch_values:
        depends_on(f"kokkos cuda_arch={_arch}", when=f"+cuda cuda_arch={_arch}")
        depends_on(f"kokkos-kernels cuda_arch={_arch}", when=f"+cuda cuda_arch={_arch}")

    # ROCm: Kokkos with HIP. Kokkos Kernels has no ROCm variants of its own: it takes HIP and
    # the architecture from the Kokkos it is built on.
    for _target in ROCmPackage.amdgpu_targets:
        depends_on(f"kokkos+rocm amdgpu_target={_target}", when=f"+rocm amdgpu_target={_target}")

    # FFT backend: FFTW (single and double precision) on host builds, cuFFT (CUDA toolkit) or
    # hipFFT on GPU builds.
    depends_on("fftw@3 precision=float,double", when="+fft ~cuda ~rocm")
    depends_on("fftw+openmp", when="+fft +openmp ~cuda ~rocm")
    depends_on("hipfft", when="+fft +rocm")

    depends_on("googletest", when="+tests")
    depends_on("benchmark", when="+benchmarks")

    conflicts(
        "cuda_arch=none", when="+cuda", msg="kinv +cuda needs a cuda_arch, e.g. cuda_arch=90"
    )
    conflicts(
        "amdgpu_target=none",
        when="+rocm",
        msg="kinv +rocm needs an amdgpu_target, e.g. amdgpu_target=gfx90a",
    )
    conflicts("+cuda", when="+rocm", msg="kinv builds for one GPU backend at a time")
    conflicts("^kokkos+cuda", when="~cuda", msg="build kinv +cuda on a CUDA Kokkos")
    conflicts("^kokkos+rocm", when="~rocm", msg="build kinv +rocm on a HIP Kokkos")
    conflicts("+gpu_aware_mpi", when="~mpi", msg="+gpu_aware_mpi needs +mpi")
    conflicts(
        "+gpu_aware_mpi", when="~cuda ~rocm", msg="+gpu_aware_mpi needs a GPU build (+cuda, +rocm)"
    )

    def _cxx_compiler(self, host_cxx: str) -> str:
        """The C++ compiler for code built on kinv's Kokkos: hipcc for HIP, nvcc_wrapper for
        CUDA, otherwise host_cxx."""
        spec = self.spec
        kokkos = spec["kokkos"]
        if kokkos.satisfies("+rocm"):
            return join_path(spec["hip"].prefix.bin, "hipcc")
        if kokkos.satisfies("+cuda"):
            if kokkos.external:
                # An external Kokkos has no kokkos-nvcc-wrapper dependency: use the
                # nvcc_wrapper that Kokkos installs with its CUDA builds.
                return join_path(kokkos.prefix.bin, "nvcc_wrapper")
            return self["kokkos"].kokkos_cxx
        return host_cxx

    def cmake_args(self):
        spec = self.spec
        args = [
            self.define_from_variant("KINV_ENABLE_MPI", "mpi"),
            self.define_from_variant("KINV_ENABLE_FFT", "fft"),
            self.define_from_variant("KINV_ENABLE_TESTS", "tests"),
            self.define_from_variant("KINV_ENABLE_BENCHMARKS", "benchmarks"),
            self.define("KINV_ENABLE_EXAMPLES", False),
            self.define_from_variant("BUILD_SHARED_LIBS", "shared"),
            self.define("Kokkos_ROOT", spec["kokkos"].prefix),
            self.define("KokkosKernels_ROOT", spec["kokkos-kernels"].prefix),
        ]
        # The compiler Kokkos was built with (nvcc_wrapper for CUDA), or hipcc for ROCm.
        if spec.satisfies("^kokkos+rocm"):
            cxx = spec["hip"].hipcc
        elif spec["kokkos"].external:
            cxx = self._cxx_compiler(spack_cxx)
        else:
            cxx = self["kokkos"].kokkos_cxx
        args.append(self.define("CMAKE_CXX_COMPILER", cxx))
        if spec.satisfies("+cuda"):
            args.append(self.define("CUDAToolkit_ROOT", spec["cuda"].prefix))
        return args

    def setup_build_environment(self, env: EnvironmentModifications) -> None:
        kokkos = self.spec["kokkos"]
        if kokkos.external and kokkos.satisfies("+cuda"):
            # The host compiler behind an external Kokkos' nvcc_wrapper (kokkos-nvcc-wrapper
            # sets it when Spack builds Kokkos).
            env.set("NVCC_WRAPPER_DEFAULT_COMPILER", spack_cxx)

    def setup_run_environment(self, env: EnvironmentModifications) -> None:
        if self.spec.satisfies("+gpu_aware_mpi"):
            env.set("KINV_GPU_AWARE_MPI", "1")

    # Stand-alone test (`spack test run kinv`): the consumer project of the install test,
    # tests/install, built against the installed kinv with find_package(kinv) and run.
    install_test_src = join_path("tests", "install")

    @run_after("install")
    def cache_install_test(self):
        """Keep the consumer project for the stand-alone test."""
        cache_extra_test_sources(self, [self.install_test_src])

    def test_consumer(self):
        """build tests/install against the installed kinv (find_package(kinv)) and run it"""
        spec = self.spec
        source_dir = join_path(self.test_suite.current_test_cache_dir, self.install_test_src)
        if not os.path.isdir(source_dir):
            raise SkipTest(f"{source_dir} is missing")
        build_dir = join_path(os.getcwd(), "consumer-build")
        # The compiler kinv was built with, without Spack's build-time compiler wrappers.
        host_cxx = spec["cxx"].package.cxx
        if spec.satisfies("^kokkos+cuda"):
            os.environ["NVCC_WRAPPER_DEFAULT_COMPILER"] = host_cxx

        args = [
            "-S",
            source_dir,
            "-B",
            build_dir,
            self.define("CMAKE_BUILD_TYPE", "Release"),
            self.define("CMAKE_CXX_COMPILER", self._cxx_compiler(host_cxx)),
            self.define("CMAKE_PREFIX_PATH", [self.prefix] + get_cmake_prefix_path(self)),
            self.define("kinv_ROOT", self.prefix),
            self.define("Kokkos_ROOT", spec["kokkos"].prefix),
            self.define("KokkosKernels_ROOT", spec["kokkos-kernels"].prefix),
        ]
        if spec.satisfies("+mpi"):
            args.append(self.define("MPI_HOME", spec["mpi"].prefix))
        if spec.satisfies("+cuda"):
            args.append(self.define("CUDAToolkit_ROOT", spec["cuda"].prefix))

        cmake = which(spec["cmake"].prefix.bin.cmake, required=True)
        cmake(*args)
        cmake("--build", build_dir)

        contract = join_path(build_dir, "contract")
        # As the project's MPI tests run (tests/CMakeLists.txt): 2 ranks, oversubscribed if
        # need be, one thread each.
        os.environ.update(
            {
                "OMP_NUM_THREADS": "1",
                "OMPI_ALLOW_RUN_AS_ROOT": "1",
                "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                "OMPI_MCA_rmaps_base_oversubscribe": "1",
                "PRTE_MCA_rmaps_default_mapping_policy": ":oversubscribe",
            }
        )
        launcher = None
        if spec.satisfies("+mpi"):
            launcher = which("mpiexec", "mpirun", path=spec["mpi"].prefix.bin)
        if launcher:
            launcher("-n", "2", contract)
        else:
            # Without a launcher (or without MPI) the program runs as a single process.
            which(contract, required=True)()
