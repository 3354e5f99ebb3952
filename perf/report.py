"""Tables and plots from benchmark JSON files (Google Benchmark's JSON format).

    python3 perf/report.py [--out DIR] [--markdown FILE] FILE.json...

Reads any number of files from any machines and backends: kinv_bench_kernels, kinv_bench_comm
and the end-to-end files of kinv and deepinv (perf/compare/run.sh). Results are grouped by the
context's host_name, backend, implementation and ranks. Writes markdown tables to FILE (default:
standard output) and PNG plots into DIR (default: perf/results/plots):

  kernels   BM_<Operator><float|double>/<n>/<adjoint>[/<more>]/real_time: time, GB/s, share of
            the STREAM triad bandwidth; plot of GB/s against n per operator, one per machine and
            dtype, with the machine's triad as a horizontal line.
  comm      comm/<strategy>/<bytes>/ranks:<N>: each strategy against its raw MPI counterpart,
            steady state and first call; plot of time against bytes per rank count.
  e2e       e2e/<workload>/<op>/ranks:<N>: kinv against deepinv, time, speed-up, peak RSS and
            the per-call counters kinv reports; grouped bar plot per rank count.

Benchmarks with other names are ignored. Needs only numpy and matplotlib.
"""

import argparse
import json
import math
import os
import re
import sys
from collections import OrderedDict, defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}

KERNEL_RE = re.compile(r"^BM_([A-Za-z0-9_]+?)(?:<(float|double)>)?((?:/[^/]+)*?)(?:/real_time)?$")
COMM_RE = re.compile(r"^comm/([A-Za-z_]+)/(\d+)/ranks:(\d+)$")
E2E_RE = re.compile(r"^e2e/([^/]+)/([^/]+)/ranks:(\d+)$")
# Suffixes Google Benchmark appends to names set with Iterations(), UseManualTime(), UseRealTime().
SUFFIX_RE = re.compile(r"(?:/(?:iterations:\d+|manual_time|real_time|repeats:\d+))+$")


def base_name(name):
    """The benchmark's name without the suffixes Google Benchmark appends."""
    return SUFFIX_RE.sub("", name)

# Each gather/reduce strategy and the raw MPI pattern it is compared with.
RAW_OF = {
    "naive": "raw_allgatherv",
    "concatenated": "raw_allgatherv",
    "broadcast": "raw_bcast_loop",
    "engine_concatenated": "raw_allgatherv",
    "engine_broadcast": "raw_bcast_loop",
    "reduce": "raw_allreduce",
}
STRATEGY_ORDER = ["naive", "concatenated", "broadcast", "engine_concatenated", "engine_broadcast",
                  "reduce",
                  "raw_allgatherv", "raw_bcast_loop", "raw_allreduce"]
OP_ORDER = {"A": 0, "A_adjoint": 1, "A_adjoint_A": 2}


# ---------------------------------------------------------------------------------------------
# Loading


class Record:
    """One benchmark entry with the context of the file it came from."""

    def __init__(self, bench, context, path):
        self.bench = bench
        self.context = context
        self.path = path

    @property
    def host(self):
        return str(self.context.get("host_name", "?"))

    @property
    def backend(self):
        return str(self.context.get("backend", "?"))

    @property
    def implementation(self):
        return str(self.context.get("implementation", "kinv"))

    @property
    def ranks(self):
        return str(self.bench.get("ranks", self.context.get("ranks", "1"))).split(".")[0]

    def machine(self):
        return (self.host, self.backend, self.implementation, self.ranks)

    def time_ms(self):
        return self.bench["real_time"] * TO_MS.get(self.bench.get("time_unit", "ns"), 1e-6)

    def get(self, key, default=None):
        value = self.bench.get(key, default)
        return value if isinstance(value, (int, float)) else default


def load(paths):
    records = []
    for path in paths:
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            print(f"report.py: skipping {path}: {e}", file=sys.stderr)
            continue
        context = data.get("context", {})
        benches = [b for b in data.get("benchmarks", []) if "name" in b and "real_time" in b]
        # With --benchmark_repetitions the medians stand for the runs.
        medians = [b for b in benches
                   if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median"]
        if medians:
            for b in medians:
                b = dict(b)
                b["name"] = base_name(b.get("run_name", b["name"].rsplit("_median", 1)[0]))
                records.append(Record(b, context, path))
        else:
            records += [Record(dict(b, name=base_name(b["name"])), context, path) for b in benches
                        if b.get("run_type", "iteration") == "iteration"
                        and not b.get("error_occurred")]
    return records


# ---------------------------------------------------------------------------------------------
# Formatting


def fmt(value, digits=3):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:.{decimals}f}"


def fmt_bytes(n):
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{fmt(n / size)} {unit}"
    return f"{int(n)} B"


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def machine_label(machine, with_impl=True):
    host, backend, impl, ranks = machine
    parts = [impl] if with_impl else []
    parts += [backend, f"{ranks} rank{'s' if ranks != '1' else ''}", f"on {host}"]
    return " ".join(parts)


_LINK_BASE = "."


def link(path):
    """A markdown image line for path, relative to the markdown file's folder."""
    return f"![{os.path.basename(path)}]({os.path.relpath(path, _LINK_BASE)})\n\n"


def describe(context):
    """The context fields that matter when reading the figures, on one line."""
    fields = [("commit", "commit"), ("kinv_version", "kinv"), ("deepinv_version", "deepinv"),
              ("torch_version", "torch"), ("kinv_build_type", "build"),
              ("library_build_type", "Google Benchmark build"),
              ("concurrency", "concurrency"), ("threads_per_rank", "threads per rank"),
              ("num_cpus", "CPUs"), ("load_avg", "load"), ("date", "date")]
    parts = []
    for key, name in fields:
        if key in context:
            value = context[key]
            if isinstance(value, list):
                value = " ".join(fmt(v) for v in value)
            parts.append(f"{name} {value}")
    return ", ".join(parts)


def slug(*parts):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "_".join(str(p) for p in parts)).strip("_")


# ---------------------------------------------------------------------------------------------
# Kernels


def parse_kernel(record):
    m = KERNEL_RE.match(record.bench["name"])
    if not m or m.group(1) == "Paired":
        return None
    op, dtype, rest = m.group(1), m.group(2) or "", m.group(3)
    args = [a for a in rest.split("/") if a]
    if not all(re.fullmatch(r"-?\d+", a) for a in args) or not args:
        return None
    args = [int(a) for a in args]
    if op == "Triad":
        return {"op": op, "dtype": dtype, "n": args[0], "adjoint": None, "extra": args[1:]}
    if len(args) < 2:
        return {"op": op, "dtype": dtype, "n": args[0], "adjoint": None, "extra": []}
    return {"op": op, "dtype": dtype, "n": args[0], "adjoint": args[1], "extra": args[2:]}


def context_value(records, key):
    """The first record's context value `key` as a float, or None."""
    for r in records:
        try:
            return float(r.context[key])
        except (KeyError, ValueError):
            pass
    return None


def triad_of(records):
    """The machine's STREAM triad in GB/s: the context's, else the best BM_Triad point."""
    triad = context_value(records, "triad_GBps")
    if triad is not None:
        return triad
    points = [r.get("GBps") for r in records
              if r.bench["name"].startswith("BM_Triad") and r.get("GBps")]
    return max(points) if points else None


def kernels_section(records, out_dir):
    by_machine = OrderedDict()
    for r in records:
        k = parse_kernel(r)
        if k is not None:
            by_machine.setdefault(r.machine(), []).append((r, k))
    if not by_machine:
        return ""
    text = "## Kernels\n\n"
    for machine, items in by_machine.items():
        triad = triad_of([r for r, _ in items])
        text += f"### {machine_label(machine)}\n\n{describe(items[0][0].context)}\n\n"
        copy = context_value([r for r, _ in items], "copy_GBps")  # read + write
        text += f"STREAM triad: {fmt(triad)} GB/s\n\n" if triad else ""
        text += f"Copy within the memory space: {fmt(copy)} GB/s (read + write)\n\n" if copy else ""
        has_gups = any(r.get("GUPS") is not None for r, _ in items)
        has_gflops = any(r.get("GFLOPs") is not None for r, _ in items)
        headers = ["operator", "dtype", "n", "A/A^T", "args", "time (us)", "GB/s", "% triad"]
        headers += ["% copy"] * bool(copy) + ["GUPS"] * has_gups + ["GFLOP/s"] * has_gflops
        rows = []
        items.sort(key=lambda rk: (rk[1]["op"] == "Triad", rk[1]["op"], rk[1]["dtype"] != "float",
                                   rk[1]["extra"], rk[1]["n"], rk[1]["adjoint"] or 0))
        for r, k in items:
            gbps = r.get("GBps")
            frac = r.get("triad_fraction")
            if frac is None and gbps is not None and triad:
                frac = gbps / triad
            row = [k["op"], k["dtype"] or "-", k["n"],
                   {None: "-", 0: "A", 1: "A^T"}.get(k["adjoint"], str(k["adjoint"])),
                   "/".join(str(a) for a in k["extra"]) or "-",
                   fmt(r.time_ms() * 1e3), fmt(gbps), fmt(100 * frac) if frac is not None else ""]
            if copy:
                row.append(fmt(100 * gbps / copy) if gbps is not None else "")
            row += [fmt(r.get("GUPS"))] * has_gups + [fmt(r.get("GFLOPs"))] * has_gflops
            rows.append(row)
        text += table(headers, rows) + "\n"
        for path in plot_kernels(machine, items, triad, out_dir):
            text += link(path)
    return text


# BM_Paired's first argument (perf/bench_kernels.cpp, MemoryBound).
PAIRED_KINDS = ["Inpainting", "Denoising", "Decolorize", "Downsampling f=2, no filter"]


def paired_section(records):
    """BM_Paired: each kernel against a triad timed in the same rounds."""
    by_machine = OrderedDict()
    for r in records:
        m = KERNEL_RE.match(r.bench["name"])
        if m and m.group(1) == "Paired":
            args = [int(a) for a in re.findall(r"/(\d+)(?=/|$)", m.group(3))]
            if len(args) >= 3 and r.get("paired_fraction") is not None:
                by_machine.setdefault(r.machine(), []).append((r, m.group(2) or "", args))
    if not by_machine:
        return ""
    text = "## Memory-bound kernels against a triad in the same rounds\n\n"
    for machine, items in by_machine.items():
        text += f"### {machine_label(machine)}\n\n{describe(items[0][0].context)}\n\n"
        items.sort(key=lambda it: (it[2][0], it[1] != "float", it[2][1], it[2][2]))
        rows = []
        for r, dtype, (kind, n, adjoint) in items:
            name = PAIRED_KINDS[kind] if kind < len(PAIRED_KINDS) else str(kind)
            rows.append([name, dtype, n, "A^T" if adjoint else "A", fmt(r.get("kernel_GBps")),
                         fmt(r.get("round_triad_GBps")), fmt(100 * r.get("paired_fraction"))])
        text += table(["operator", "dtype", "n", "A/A^T", "GB/s", "triad GB/s (same rounds)",
                       "% triad"], rows) + "\n"
    return text


def plot_kernels(machine, items, triad, out_dir):
    paths = []
    dtypes = sorted({k["dtype"] for _, k in items if k["op"] != "Triad" and k["dtype"]})
    for dtype in dtypes:
        series = defaultdict(list)  # (op, extra) -> [(n, adjoint, GBps)]
        for r, k in items:
            if k["dtype"] == dtype and r.get("GBps") is not None:
                series[(k["op"], tuple(k["extra"]))].append((k["n"], k["adjoint"], r.get("GBps")))
        if not series:
            continue
        fig, ax = plt.subplots(figsize=(10, 5))
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, ((op, extra), pts) in enumerate(sorted(series.items())):
            label = op + "".join(f"/{a}" for a in extra)
            for adjoint, style in ((0, "-"), (1, "--"), (None, "-")):
                xs = sorted((n, g) for n, a, g in pts if a == adjoint)
                if xs:
                    ax.plot([n for n, _ in xs], [g for _, g in xs], style, marker="o",
                            color=colors[i % len(colors)],
                            label=label + {0: " A", 1: " A^T", None: ""}[adjoint])
        if triad:
            ax.axhline(triad, color="black", linestyle=":", label=f"STREAM triad {fmt(triad)} GB/s")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("image size n (n x n)")
        ax.set_ylabel("GB/s")
        ax.set_title(f"{dtype} kernels, {machine_label(machine)}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
        path = os.path.join(out_dir, f"kernels_{slug(*machine, dtype)}.png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------------
# Communication


def comm_section(records, out_dir):
    by_machine = OrderedDict()
    contexts = {}
    for r in records:
        m = COMM_RE.match(r.bench["name"])
        if m and not m.group(1).startswith("paired_"):
            strategy, nbytes = m.group(1), int(m.group(2))
            first = r.get("first_call_us")
            by_machine.setdefault(r.machine(), {})[(strategy, nbytes)] = (
                r.time_ms() * 1e3, first)
            contexts[r.machine()] = r.context
    if not by_machine:
        return ""
    text = "## Communication\n\nTimes in us; ratio = strategy / its raw MPI counterpart "
    text += "(concatenated and naive: Allgatherv, broadcast: a loop of Bcast, reduce: Allreduce).\n\n"
    for machine, points in by_machine.items():
        text += f"### {machine_label(machine)}\n\n{describe(contexts[machine])}\n\n"
        rows = []
        sizes = sorted({b for _, b in points})
        strategies = sorted({s for s, _ in points},
                            key=lambda s: (STRATEGY_ORDER.index(s) if s in STRATEGY_ORDER else 99, s))
        for nbytes in sizes:
            for s in strategies:
                if (s, nbytes) not in points or s.startswith("raw_"):
                    continue
                t, first = points[(s, nbytes)]
                raw = points.get((RAW_OF.get(s), nbytes), (None, None))
                rows.append([fmt_bytes(nbytes), s, fmt(t), fmt(raw[0]), fmt(ratio(t, raw[0])),
                             fmt(first), fmt(raw[1]), fmt(ratio(first, raw[1]))])
            for s in strategies:
                if s.startswith("raw_") and (s, nbytes) in points:
                    t, first = points[(s, nbytes)]
                    rows.append([fmt_bytes(nbytes), s, fmt(t), "", "", fmt(first), "", ""])
        text += table(["bytes", "strategy", "time", "raw time", "ratio", "first call",
                       "raw first call", "first ratio"], rows) + "\n"
        path = plot_comm(machine, points, strategies, out_dir)
        text += link(path)
    return text


def comm_paired_section(records):
    """comm/paired_*: each strategy's calls alternating with its raw collective's."""
    by_machine = OrderedDict()
    for r in records:
        m = COMM_RE.match(r.bench["name"])
        if m and m.group(1).startswith("paired_") and r.get("paired_ratio") is not None:
            by_machine.setdefault(r.machine(), []).append(
                (m.group(1)[len("paired_"):], int(m.group(2)), int(m.group(3)), r))
    if not by_machine:
        return ""
    text = "## Gathers against their raw collective, call by call\n\n"
    text += ("Each call of the stack alternates with one raw call (concatenated: "
             "`MPI_Allgatherv`; broadcast: the `MPI_Bcast` loop); times in us are medians, "
             "the ratio is the median of the per-round ratios.\n\n")
    for machine, items in by_machine.items():
        text += f"### {machine_label(machine)}\n\n{describe(items[0][3].context)}\n\n"
        items.sort(key=lambda it: (it[2], it[1], STRATEGY_ORDER.index(it[0])
                                   if it[0] in STRATEGY_ORDER else 99))
        rows = [[ranks, fmt_bytes(nbytes), s, fmt(r.get("kinv_us")), fmt(r.get("raw_us")),
                 fmt(r.get("paired_ratio"))] for s, nbytes, ranks, r in items]
        text += table(["ranks", "bytes", "strategy", "kinv us", "raw us", "ratio"], rows) + "\n"
    return text


def plot_comm(machine, points, strategies, out_dir):
    fig, ax = plt.subplots(figsize=(8, 5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, s in enumerate(strategies):
        pts = sorted((b, t) for (name, b), (t, _) in points.items() if name == s)
        ax.plot([b for b, _ in pts], [t for _, t in pts], "--" if s.startswith("raw_") else "-",
                marker="o", color=colors[i % len(colors)], label=s)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("bytes")
    ax.set_ylabel("time per call (us)")
    ax.set_title(f"Communication, {machine_label(machine)}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    path = os.path.join(out_dir, f"comm_{slug(*machine)}.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------
# End to end


def e2e_section(records, out_dir):
    # column (implementation, backend, host) -> (workload, op, ranks) -> record
    columns = OrderedDict()
    for r in records:
        m = E2E_RE.match(r.bench["name"])
        if m:
            key = (m.group(1), m.group(2), int(m.group(3)))
            columns.setdefault((r.implementation, r.backend, r.host), {})[key] = r
    if not columns:
        return ""
    hosts = {h for _, _, h in columns}

    def label(col):
        impl, backend, host = col
        return f"{impl} {backend}" + (f" @{host}" if len(hosts) > 1 else "")

    ordered = sorted(columns, key=lambda c: (c[0] == "deepinv", c))
    refs = [c for c in ordered if c[0] == "deepinv"]

    def reference_for(col):
        same_host = [c for c in refs if c[2] == col[2]]
        return (same_host or refs or [None])[0]

    compared = [c for c in ordered if c[0] != "deepinv" and reference_for(c)]
    keys = sorted({k for c in columns.values() for k in c},
                  key=lambda k: (k[0], OP_ORDER.get(k[1], 9), k[1], k[2]))

    def value(col, key, field):
        r = columns[col].get(key) if col is not None else None
        if r is None:
            return None
        return r.time_ms() if field == "time" else r.get(field)

    def section(title, fields, with_ratio):
        """One table: a column per implementation/backend for each field, then the ratios
        deepinv / kinv of the first field."""
        headers = ["workload", "op", "ranks"]
        headers += [label(c) for c in ordered for _ in fields]
        if len(fields) > 1:
            headers[3:] = [f"{label(c)} {f}" for c in ordered for f in fields]
        if with_ratio:
            headers += [f"{with_ratio} {label(c)}" for c in compared]
        rows = []
        for key in keys:
            row = [key[0], key[1], str(key[2])]
            row += [fmt(value(c, key, f)) for c in ordered for f in fields]
            if with_ratio:
                row += [fmt(ratio(value(reference_for(c), key, fields[0]), value(c, key, fields[0])))
                        for c in compared]
            rows.append(row)
        return f"{title}\n\n" + table(headers, rows) + "\n"

    text = "## End to end\n\n"
    for c in ordered:
        text += f"- {label(c)}: {describe(next(iter(columns[c].values())).context)}\n"
    text += "\n"
    title = "Time per call (ms, median of the steady-state calls, slowest rank per call)"
    title += "; speed-up = deepinv time / kinv time:" if compared else ":"
    text += section(title, ["time"], "speed-up")
    text += section("First call (ms):", ["first_call_ms"], "speed-up")
    title = "Peak RSS (MiB, largest rank)" + ("; ratio = deepinv / kinv:" if compared else ":")
    text += section(title, ["peak_rss_MiB"], "RSS ratio")
    counters = [name for name in ("allocs_per_call", "peak_alloc_MiB", "mpi_calls_per_call",
                                  "metadata_calls_per_call")
                if any(r.get(name) is not None for c in ordered for r in columns[c].values())]
    with_counters = [c for c in ordered
                     if any(r.get(n) is not None for n in counters for r in columns[c].values())]
    if counters and with_counters:
        headers = ["workload", "op", "ranks"] + [f"{label(c)} {n}" for c in with_counters
                                                 for n in counters]
        rows = [[k[0], k[1], str(k[2])] + [fmt(value(c, k, n)) for c in with_counters
                                           for n in counters] for k in keys]
        text += "Per-call counters:\n\n" + table(headers, rows) + "\n"
    path = plot_e2e(columns, ordered, keys, label, out_dir)
    text += link(path)
    return text


def plot_e2e(columns, ordered, rows_keys, label, out_dir):
    ranks = sorted({k[2] for k in rows_keys})
    groups = sorted({(k[0], k[1]) for k in rows_keys},
                    key=lambda g: (g[0], OP_ORDER.get(g[1], 9), g[1]))
    fig, axes = plt.subplots(len(ranks), 1, figsize=(max(8, 1.1 * len(groups)), 4 * len(ranks)),
                             squeeze=False)
    width = 0.8 / max(1, len(ordered))
    x = np.arange(len(groups))
    for ax, n in zip(axes[:, 0], ranks):
        for i, col in enumerate(ordered):
            heights = []
            for w, op in groups:
                r = columns[col].get((w, op, n))
                heights.append(r.time_ms() if r is not None else np.nan)
            ax.bar(x + (i - (len(ordered) - 1) / 2) * width, heights, width, label=label(col))
        ax.set_xticks(x)
        ax.set_xticklabels([f"{w}\n{op}" for w, op in groups], fontsize="small")
        ax.set_yscale("log")
        ax.set_ylabel("ms per call")
        ax.set_title(f"End to end, {n} rank{'s' if n != 1 else ''}")
        ax.grid(True, axis="y", which="both", alpha=0.3)
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    path = os.path.join(out_dir, "e2e.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", metavar="FILE.json")
    parser.add_argument("--out", default=os.path.join("perf", "results", "plots"),
                        help="directory for the PNG plots")
    parser.add_argument("--markdown", default=None, help="markdown file (default: stdout)")
    args = parser.parse_args()

    global _LINK_BASE
    os.makedirs(args.out, exist_ok=True)
    _LINK_BASE = os.path.dirname(os.path.abspath(args.markdown)) if args.markdown else "."
    records = load(args.files)
    text = "# Benchmark report\n\n"
    sections = [kernels_section(records, args.out), paired_section(records),
                comm_section(records, args.out), comm_paired_section(records),
                e2e_section(records, args.out)]
    body = "".join(s for s in sections if s)
    text += body or "No kernel, communication or end-to-end benchmarks in the input.\n"
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
