#!/usr/bin/env bash
# bench/gpu_check.sh: the one prepared run for the GPU machine (H100/H200, no Go, no network).
# It needs the working tree plus, carried over from a development machine, build/gam-native (the
# Go binary), build/zoo (the exported models) and build/bench-models (the bench's briefly trained
# generator and screen; the GPU machine has no Fashion-MNIST to train them), and build/fixtures for
# pipeline_null (null_gen.pt, null_screen.pt from `make fixtures`; the figure is skipped without). It
#   1. builds the CUDA engine against the wheel's LibTorch into build-cuda/,
#   2. checks every CUDA kernel against its CPU path on random inputs (gam-native bench kernels),
#   3. runs the benchmark suite on the GPU with the PyTorch peer (the wheel's python), including
#      the fixed-shape step eager and as a CUDA graph (their outputs compared first) and the
#      pipeline with the graph, the eager fused step and the split path side by side,
# and writes everything under $OUT (log, JSON results). Budget: 8 minutes in all.
#
#   OUT=/tmp/out bash bench/gpu_check.sh
#   OUT=/tmp/out BENCH="sample confidence pipeline" bash bench/gpu_check.sh   # a few benchmarks, no leak soak
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log") 2>&1
t0=$(date +%s)
step() { echo; echo "=== $(date +%T) (+$(( $(date +%s) - t0 ))s) $*"; }

PY=${PYTHON:-python3}
BIN=build/gam-native
for f in "$BIN" build/zoo/cvae.pt build/zoo/screen.pt; do
  [[ -e $f ]] || { echo "missing $f: carry build/gam-native, build/zoo and build/bench-models over"; exit 2; }
done

step "machine"
nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv || true
nproc
"$PY" -c 'import torch,sys; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'
command -v nvcc && nvcc --version | tail -1 || true

step "build the CUDA engine (build-cuda/)"
# nvcc may sit outside PATH in the image; ninja comes with the wheel's Python (else make -j).
for d in /usr/local/cuda/bin /usr/local/cuda-*/bin; do [[ -x $d/nvcc ]] && PATH=$PATH:$d && break; done
PREFIX=$("$PY" -c 'import torch;print(torch.utils.cmake_prefix_path)')
GEN=(-G Ninja); command -v ninja >/dev/null || GEN=()
if ! timeout 240 cmake -S . -B build-cuda -DGAM_CUDA=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" "${GEN[@]}"; then
  for f in build-cuda/CMakeFiles/CMakeConfigureLog.yaml build-cuda/CMakeFiles/CMakeError.log; do
    [[ -f $f ]] && tail -c 200000 "$f" > "$OUT/$(basename "$f")"
  done
  echo "configure failed"; exit 3
fi
timeout 300 cmake --build build-cuda -j "$(nproc)" || { echo "build failed"; exit 4; }
ENGINE=$PWD/build-cuda/libgam_engine.so
"$BIN" --engine "$ENGINE" info --json > "$OUT/info.json"
"$BIN" --engine "$ENGINE" info

step "kernels: CUDA vs CPU path on random inputs"
timeout 60 "$BIN" bench --engine "$ENGINE" --zoo build/zoo --json "$OUT/kernels.json" kernels

step "bench on the GPU with the PyTorch peer"
# Modest repeats (2 rounds of 2 runs: 4 per figure, about 1.5x the time of the 3 runs of run 5,
# whose bench step took ~90 s): the whole script must fit in 8 minutes. The leak soak is shortened
# to 1,000 cycles here (10,000 on the development machine).
rc=0
timeout 300 "$BIN" bench --engine "$ENGINE" --zoo build/zoo --models-dir build/bench-models \
  --peer --python "$(command -v "$PY")" --batch 256,1024 --rounds 2 --repeat 2 --warmup 1 --min-time 200ms \
  --device cuda --leak-cycles 1000 --json "$OUT/bench-gpu.json" ${BENCH:-} || rc=$?
sleep 1  # let tee write the log
# A crash in native code (Go exits 2 and prints SIGSEGV/SIGABRT): one short run under cuda-gdb for
# the native backtrace and a scan of the stack (bt cannot unwind a call through a null pointer).
if (( rc != 0 && rc != 124 )) && grep -q "SIGSEGV\|SIGABRT\|SIGBUS\|signal arrived during cgo" "$OUT/log" &&
   command -v cuda-gdb >/dev/null; then
  step "bench crashed (exit $rc): backtrace under cuda-gdb -> crash-bt.txt"
  timeout 120 cuda-gdb -batch -ex 'handle SIGURG nostop noprint pass' -ex 'handle SIGPIPE nostop noprint pass' \
    -ex run -ex bt -x scripts/crash_stack.gdb.py --args "$BIN" bench --engine "$ENGINE" --zoo build/zoo \
    --models-dir build/bench-models --device cuda --batch 64 --repeat 1 --warmup 0 sample > "$OUT/crash-bt.txt" 2>&1 || true
  grep -A25 "SIGSEGV\|signal" "$OUT/crash-bt.txt" | head -60 || true
fi
(( rc == 0 )) || { echo "bench failed (exit $rc)"; exit "$rc"; }

step "done"
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv || true
echo "total $(( $(date +%s) - t0 )) s; results in $OUT"
