// The whole public API of kinv in one include.
#pragma once

#include <kinv/config.hpp>

#include <kinv/core/compat.hpp>
#include <kinv/core/error.hpp>
#include <kinv/core/profiling.hpp>
#include <kinv/core/rng.hpp>
#include <kinv/core/shape.hpp>
#include <kinv/core/tensor.hpp>
#include <kinv/core/types.hpp>

#include <kinv/optim/options.hpp>
#include <kinv/optim/solvers.hpp>
#include <kinv/optim/vector_ops.hpp>

#include <kinv/physics/composition.hpp>
#include <kinv/physics/noise.hpp>
#include <kinv/physics/physics.hpp>
#include <kinv/physics/stacked.hpp>

#include <kinv/operators/blur.hpp>
#include <kinv/operators/compressed_sensing.hpp>
#include <kinv/operators/decolorize.hpp>
#include <kinv/operators/denoising.hpp>
#include <kinv/operators/downsampling.hpp>
#include <kinv/operators/inpainting.hpp>
#include <kinv/operators/sparse_matrix.hpp>
#include <kinv/operators/tomography.hpp>
#if KINV_HAVE_FFT
#include <kinv/fft/fft.hpp>
#include <kinv/operators/blur_fft.hpp>
#include <kinv/operators/mri.hpp>
#endif

#include <kinv/optim/data_fidelity.hpp>
#include <kinv/optim/prox.hpp>

#include <kinv/comm/communicator.hpp>
#include <kinv/comm/gather.hpp>

#include <kinv/distributed/context.hpp>
#include <kinv/distributed/data_fidelity.hpp>
#include <kinv/distributed/distribute.hpp>
#include <kinv/distributed/factory_args.hpp>
#include <kinv/distributed/partition.hpp>
#include <kinv/distributed/processing.hpp>
#include <kinv/distributed/stacked_physics.hpp>
#include <kinv/distributed/tiling.hpp>
