"""End-to-end timing of deepinv's distributed stacked physics, the reference side of kinv's
end-to-end benchmark (same workloads, same JSON shape as Google Benchmark output).

Run under torchrun, one process per rank, on CPUs (gloo backend) or with --device cuda on GPUs
(nccl backend, one GPU per rank):

    python -m torch.distributed.run --standalone --nproc_per_node=2 deepinv_e2e.py \\
        --workload blur3 --out results/deepinv_ranks2.json [--append] [--iterations 10] [--threads T]
        [--device cpu|cuda]

perf/compare/run.sh does this for every workload at 1 and 2 ranks. Workloads:

  blur3  deepinv's examples/distributed/demo_physics_distributed.py: x of shape (1, 3, 512, 512),
         three circular Gaussian blurs (sigma 1.0, 2.5, (1.5, 3.5) rotated by 30 degrees).
  blur8  the same three, then sigma 1.5, 2.0, 3.0, (1.0, 3.0) at 60 and (2.0, 4.0) at 120 degrees.
  tomo   x of shape (1, 1, 256, 256), four parallel-beam Tomography operators, operator i taking
         the 45 angles 4 m + i degrees (180 one-degree angles split in four interleaved subsets).

Each operator list is stacked with deepinv.physics.stack and distributed with
deepinv.distributed.distribute(..., gather_strategy="concatenated").

For each of A, A_adjoint (applied to the y returned by A) and A_adjoint_A, the first call is
timed alone (first_call_ms), then --iterations steady-state calls, each preceded by a barrier.
A call's time is the maximum over ranks; real_time is the median of those. cpu_time is the
median of the process CPU time (all threads) per call, maximum over ranks. peak_rss_MiB is the
maximum over ranks of the process high-water mark (ru_maxrss) after the workload, so run one
workload per process (as run.sh does) to get per-workload peaks; baseline_rss_MiB is the same
mark taken before the workload is built (Python, torch and deepinv loaded). On GPUs the calls are
bracketed by torch.cuda.synchronize() and peak_alloc_MiB is torch's device allocation high-water
mark (torch.cuda.max_memory_allocated), the counterpart of kinv's Kokkos peak.
"""

import argparse
import datetime
import json
import os
import resource
import socket
import statistics
import subprocess
import time
import warnings

import torch
import torch.distributed as dist

import deepinv
from deepinv.distributed import DistributedContext, distribute
from deepinv.physics import Blur, Tomography, stack
from deepinv.physics.functional.blur import gaussian_blur

WORKLOADS = ("blur3", "blur8", "tomo")
OPS = ("A", "A_adjoint", "A_adjoint_A")

# (sigma, angle in degrees). A scalar sigma means an isotropic 2-D kernel: deepinv's
# functional gaussian_blur reads a bare float as a 1-D kernel, so it is passed as (s, s), which
# is what the demo's deepinv.physics.blur.gaussian_blur(sigma=s) does.
BLUR3 = [(1.0, 0.0), (2.5, 0.0), ((1.5, 3.5), 30.0)]
BLUR8 = BLUR3 + [(1.5, 0.0), (2.0, 0.0), (3.0, 0.0), ((1.0, 3.0), 60.0), ((2.0, 4.0), 120.0)]


def blur_workload(specs):
    x = torch.rand(1, 3, 512, 512, dtype=torch.float32, generator=torch.Generator().manual_seed(0))
    physics = []
    for sigma, angle in specs:
        sigma = (sigma, sigma) if isinstance(sigma, float) else sigma
        kernel = gaussian_blur(sigma=sigma, angle=angle)
        physics.append(Blur(filter=kernel, padding="circular"))
    return x, physics


def tomo_workload():
    x = torch.rand(1, 1, 256, 256, dtype=torch.float32, generator=torch.Generator().manual_seed(0))
    physics = [
        Tomography(
            angles=torch.tensor([float(4 * m + i) for m in range(45)]),
            img_width=256,
            circle=False,
            normalize=False,
        )
        for i in range(4)
    ]
    return x, physics


def make_workload(name):
    if name == "blur3":
        return blur_workload(BLUR3)
    if name == "blur8":
        return blur_workload(BLUR8)
    if name == "tomo":
        return tomo_workload()
    raise ValueError(f"unknown workload {name!r}, expected one of {WORKLOADS}")


# Where the workload runs, and where the small reductions of timings live (nccl reduces device
# tensors only); set in main().
DEVICE = torch.device("cpu")
COMM_DEVICE = torch.device("cpu")


def synchronize():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def max_over_ranks(values):
    """Element-wise maximum over ranks of a list of floats."""
    t = torch.tensor(values, dtype=torch.float64, device=COMM_DEVICE)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.tolist()


def gather_over_ranks(value, world_size):
    """The list of one float from every rank, in rank order."""
    t = torch.zeros(world_size, dtype=torch.float64, device=COMM_DEVICE)
    t[dist.get_rank()] = value
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def timed_call(fn):
    """One call after a barrier: (wall seconds, process CPU seconds, result)."""
    dist.barrier()
    synchronize()
    c0 = time.process_time()
    t0 = time.perf_counter()
    out = fn()
    synchronize()
    t1 = time.perf_counter()
    c1 = time.process_time()
    return t1 - t0, c1 - c0, out


def run_workload(name, ctx, iterations):
    x, physics_list = make_workload(name)
    x = x.to(DEVICE)
    physics_list = [p.to(DEVICE) for p in physics_list]
    dphys = distribute(stack(*physics_list), ctx, gather_strategy="concatenated")
    y_holder = {}

    def call(op):
        if op == "A":
            return lambda: dphys.A(x)
        if op == "A_adjoint":
            return lambda: dphys.A_adjoint(y_holder["y"])
        return lambda: dphys.A_adjoint_A(x)

    results = {}
    for op in OPS:
        fn = call(op)
        first_wall, _, out = timed_call(fn)
        if op == "A":
            y_holder["y"] = out
        walls, cpus = [], []
        for _ in range(iterations):
            wall, cpu, _ = timed_call(fn)
            walls.append(wall)
            cpus.append(cpu)
        first_wall = max_over_ranks([first_wall])[0]
        walls = max_over_ranks(walls)
        cpus = max_over_ranks(cpus)
        results[op] = {
            "first_call_ms": 1e3 * first_wall,
            "real_time": 1e3 * statistics.median(walls),
            "cpu_time": 1e3 * statistics.median(cpus),
        }
    return results, len(physics_list)


def git_commit():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=WORKLOADS + ("all",), default="all")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per rank (default: cpu_count // ranks, at least 1)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cpu: gloo; cuda: nccl, one GPU per rank")
    parser.add_argument("--out", default=None, help="JSON file (default: stdout)")
    parser.add_argument("--append", action="store_true",
                        help="add the benchmarks to those already in --out")
    args = parser.parse_args()
    if args.iterations < 1:
        parser.error("--iterations must be at least 1")

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    global DEVICE, COMM_DEVICE
    with DistributedContext(device_mode="gpu" if args.device == "cuda" else "cpu") as ctx:
        if not ctx.use_dist:
            raise SystemExit("run under torch.distributed.run (torchrun), even for one rank")
        DEVICE = ctx.device
        COMM_DEVICE = ctx.device if dist.get_backend() == "nccl" else torch.device("cpu")
        world = ctx.world_size
        threads = args.threads or max(1, (os.cpu_count() or 1) // world)
        torch.set_num_threads(threads)

        workloads = WORKLOADS if args.workload == "all" else (args.workload,)
        baseline = gather_over_ranks(peak_rss_mib(), world)
        benchmarks = []
        with torch.no_grad():
            for name in workloads:
                results, n_ops = run_workload(name, ctx, args.iterations)
                rss = gather_over_ranks(peak_rss_mib(), world)
                gpu_peak = None
                if DEVICE.type == "cuda":
                    gpu_peak = max(gather_over_ranks(
                        torch.cuda.max_memory_allocated(DEVICE) / 2**20, world))
                for op in OPS:
                    bench_name = f"e2e/{name}/{op}/ranks:{world}"
                    entry = {
                        "name": bench_name,
                        "run_name": bench_name,
                        "run_type": "iteration",
                        "iterations": args.iterations,
                        "real_time": results[op]["real_time"],
                        "cpu_time": results[op]["cpu_time"],
                        "time_unit": "ms",
                        "ranks": world,
                        "first_call_ms": results[op]["first_call_ms"],
                        "peak_rss_MiB": max(rss),
                        "baseline_rss_MiB": max(baseline),
                        "operators": n_ops,
                        "threads_per_rank": threads,
                    }
                    if gpu_peak is not None:
                        entry["peak_alloc_MiB"] = gpu_peak
                    for r, v in enumerate(rss):
                        entry[f"peak_rss_MiB_rank{r}"] = v
                    benchmarks.append(entry)

        if ctx.rank == 0:
            report = {
                "context": {
                    "implementation": "deepinv",
                    "host_name": socket.gethostname(),
                    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                    "num_cpus": os.cpu_count(),
                    "load_avg": list(os.getloadavg()),
                    "backend": "torch-cuda (nccl)" if DEVICE.type == "cuda" else "torch-cpu (gloo)",
                    "ranks": str(world),
                    "threads_per_rank": str(threads),
                    "deepinv_version": deepinv.__version__,
                    "torch_version": torch.__version__,
                    "commit": git_commit(),
                },
                "benchmarks": [],
            }
            if args.append and args.out and os.path.exists(args.out):
                with open(args.out) as f:
                    report["benchmarks"] = json.load(f).get("benchmarks", [])
            report["benchmarks"] += benchmarks
            text = json.dumps(report, indent=2)
            if args.out:
                with open(args.out, "w") as f:
                    f.write(text + "\n")
            else:
                print(text)


if __name__ == "__main__":
    main()
