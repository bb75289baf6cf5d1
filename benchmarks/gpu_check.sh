#!/usr/bin/env bash
# Real-GPU check in one script, a few minutes on a machine with an NVIDIA GPU:
# versions, the GPU test suite on the device (no simulator), then the parity and timing
# benchmark.  Logs and the JSON go to OUTDIR.
#
#     benchmarks/gpu_check.sh OUTDIR [BENCH_BUDGET_SECONDS]
#
# Exit status: the first failing step's (pytest, then bench_gpu.py), else 0.
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
print("cuda available:", cuda.is_available(), "device:", cuda.get_current_device().name)
PY

t0=$(date +%s)
timeout 200 python3 -m pytest tests/gpu -q -p no:cacheprovider 2>&1 | tee "$out/pytest_gpu.log"
rc_tests=${PIPESTATUS[0]}
echo "tests/gpu on the device: exit $rc_tests in $(( $(date +%s) - t0 )) s"

timeout $(( ${budget%.*} + 150 )) python3 benchmarks/bench_gpu.py --budget "$budget" \
    --out "$out/bench_gpu.json" 2>&1 | tee "$out/bench_gpu.log"
rc_bench=${PIPESTATUS[0]}
echo "bench_gpu.py: exit $rc_bench"

[ "$rc_tests" -ne 0 ] && exit "$rc_tests"
exit "$rc_bench"
