#!/usr/bin/env bash
# deepinv's side of the end-to-end comparison: runs deepinv_e2e.py under torchrun (CPU, gloo) at
# 1 and 2 ranks, one process group per workload (so peak RSS is per workload), and writes
# OUTDIR/deepinv_ranks1.json and OUTDIR/deepinv_ranks2.json.
#
#   perf/compare/run.sh [OUTDIR] [deepinv_e2e.py options, e.g. --iterations 3 --threads 1]
#
# OUTDIR defaults to perf/results. The virtual environment is KINV_DEEPINV_VENV (default
# perf/compare/.venv); it is reused as is when deepinv and torch import from it, otherwise it is
# created and deepinv 0.5.0 and torch are installed from PyPI (pip's own variables apply, e.g.
# PIP_INDEX_URL=https://download.pytorch.org/whl/cpu for the smaller CPU-only torch).
# KINV_DEEPINV_PYTHON names an interpreter that already has deepinv and torch (no venv then).
# KINV_E2E_RANKS (default "1 2") and KINV_E2E_WORKLOADS (default "blur3 blur8 tomo") narrow the run.
# On a GPU: KINV_E2E_RANKS=1 perf/compare/run.sh OUTDIR --device cuda (nccl, one GPU per rank).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
outdir="${1:-$root/perf/results}"
[[ $# -gt 0 ]] && shift
venv="${KINV_DEEPINV_VENV:-$here/.venv}"
ranks_list="${KINV_E2E_RANKS:-1 2}"
workloads="${KINV_E2E_WORKLOADS:-blur3 blur8 tomo}"

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

if [[ -n "${KINV_DEEPINV_PYTHON:-}" ]]; then
  py="$KINV_DEEPINV_PYTHON"
elif ! "$venv/bin/python" -c "import deepinv, torch" 2>/dev/null; then
  echo "Creating $venv with deepinv 0.5.0 and torch" >&2
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian and Ubuntu ship venv (ensurepip) separately.
    rm -rf "$venv"
    as_root apt-get update
    as_root apt-get install -y python3-venv
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --upgrade pip
  "$venv/bin/python" -m pip install torch "deepinv==0.5.0"
fi
py="${py:-$venv/bin/python}"

mkdir -p "$outdir"
for n in $ranks_list; do
  out="$outdir/deepinv_ranks$n.json"
  rm -f "$out"
  for w in $workloads; do
    echo "deepinv e2e: $w at $n rank(s)" >&2
    "$py" -m torch.distributed.run --standalone --nproc_per_node="$n" \
      "$here/deepinv_e2e.py" --workload "$w" --out "$out" --append "$@"
  done
  echo "wrote $out" >&2
done
