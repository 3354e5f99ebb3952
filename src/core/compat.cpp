#include <kinv/core/compat.hpp>

#include <atomic>

namespace kinv {
namespace compat {

namespace {
std::atomic<bool> g_finalized{false};
}

bool is_finalized() noexcept {
#if KINV_KOKKOS_VERSION_AT_LEAST(4, 0)
  return Kokkos::is_finalized();
#else
  return g_finalized.load();
#endif
}

void note_finalized() noexcept { g_finalized.store(true); }

namespace {
bool has_kokkos_arguments(int argc, char** argv) {
  for (int i = 1; argv != nullptr && i < argc; ++i)
    if (argv[i] != nullptr && std::string(argv[i]).rfind("--kokkos", 0) == 0) return true;
  return false;
}
}  // namespace

void initialize(int& argc, char** argv, int device_id, int num_threads) {
  // Explicit --kokkos-* command-line options win over kinv's choices.
  if (has_kokkos_arguments(argc, argv)) {
    Kokkos::initialize(argc, argv);
    return;
  }
#if KINV_KOKKOS_VERSION_AT_LEAST(4, 0)
  Kokkos::InitializationSettings settings;
  if (device_id >= 0) settings.set_device_id(device_id);
  if (num_threads > 0) settings.set_num_threads(num_threads);
  Kokkos::initialize(settings);
#else
  Kokkos::InitArguments args;
  if (device_id >= 0) args.device_id = device_id;
  if (num_threads > 0) args.num_threads = num_threads;
  Kokkos::initialize(args);
#endif
}

void finalize() {
  Kokkos::finalize();
  note_finalized();
}

int num_devices() {
#if KINV_KOKKOS_VERSION_AT_LEAST(4, 3)
  const int n = Kokkos::num_devices();
  return n > 0 ? n : 1;
#else
  return 1;
#endif
}

int device_id() {
#if KINV_KOKKOS_VERSION_AT_LEAST(4, 1)
  const int id = Kokkos::device_id();
  return id < 0 ? 0 : id;
#else
  return 0;
#endif
}

int host_concurrency() {
#if KINV_KOKKOS_VERSION_AT_LEAST(4, 0)
  return Kokkos::DefaultHostExecutionSpace().concurrency();
#else
  return Kokkos::DefaultHostExecutionSpace::concurrency();
#endif
}

std::string execution_space_name() { return Kokkos::DefaultExecutionSpace::name(); }

}  // namespace compat
}  // namespace kinv
