#!/usr/bin/env bash
# Real-GPU check in one script, under 9 minutes on a machine with an NVIDIA GPU:
# versions and the device's shared-memory limits, the GPU test suite on the device (no
# simulator), the parity (N = 2**4 .. 2**16, every dtype) and timing benchmark with the
# default and the single-launch plan side by side (apply and vjp), then the host time
# of a one-vector apply at N = 1024.  Logs and the JSON files go to OUTDIR.
#
#     benchmarks/gpu_check.sh OUTDIR [BENCH_BUDGET_SECONDS]
#
# Exit status: the first failing step's (pytest, bench_gpu.py, bench_gpu_host.py), else 0.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: gpu_check.sh OUTDIR [BENCH_BUDGET_SECONDS]}
budget=${2:-120}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
unset NUMBA_ENABLE_CUDASIM

nvidia-smi -L
python3 - <<'PY' 2>&1 | tee "$out/versions.txt"
import sys, numpy, scipy, numba, hypothesis
from numba import cuda
print("python", sys.version.split()[0], "numpy", numpy.__version__, "scipy", scipy.__version__,
      "numba", numba.__version__, "hypothesis", hypothesis.__version__)
try:
    import numba_cuda
    print("numba-cuda", numba_cuda.__version__)
except ImportError:
    print("numba-cuda: not installed (numba's own cuda target)")
dev = cuda.get_current_device()
print("cuda available:", cuda.is_available(), "device:", dev.name)
print("shared memory per block:", dev.MAX_SHARED_MEMORY_PER_BLOCK,
      "opt-in:", dev.MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)
from kmatrix.backends.cuda.shared import optin_bytes
print("kmatrix plans tiles up to", optin_bytes(cuda), "bytes with the single-launch plan")
PY

t0=$(date +%s)
timeout 240 python3 -m pytest tests/gpu -q -p no:cacheprovider 2>&1 | tee "$out/pytest_gpu.log"
rc_tests=${PIPESTATUS[0]}
echo "tests/gpu on the device: exit $rc_tests in $(( $(date +%s) - t0 )) s"

timeout $(( ${budget%.*} + 180 )) python3 benchmarks/bench_gpu.py --budget "$budget" \
    --out "$out/bench_gpu.json" 2>&1 | tee "$out/bench_gpu.log"
rc_bench=${PIPESTATUS[0]}
echo "bench_gpu.py: exit $rc_bench"

timeout 60 python3 benchmarks/bench_gpu_host.py --out "$out/bench_gpu_host.json" 2>&1 \
    | tee "$out/bench_gpu_host.log"
rc_host=${PIPESTATUS[0]}
echo "bench_gpu_host.py: exit $rc_host"

[ "$rc_tests" -ne 0 ] && exit "$rc_tests"
[ "$rc_bench" -ne 0 ] && exit "$rc_bench"
exit "$rc_host"
