#!/bin/sh
# Compile-checks cuda/*.cu on a machine without a GPU: nvcc (Debian non-free's nvidia-cuda-toolkit,
# 11.8, sm_90) against Debian's CPU LibTorch 1.13 headers. It only compiles; the GPU machine's
# build (LibTorch 2.11, nvcc 13) and TestOpsCUDAMatchesCPU are the real checks.
# Usage: cuda/nvcc_check.sh [file.cu ...]
set -eu
cd "$(dirname "$0")/.."
command -v nvcc >/dev/null || { echo "nvcc not found: apt-get install nvidia-cuda-toolkit (non-free)"; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The CPU LibTorch package lacks this generated header that the CUDA headers include.
mkdir -p "$tmp/c10/cuda/impl"
printf '#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n' >"$tmp/c10/cuda/impl/cuda_cmake_macros.h"
# nvcc 11.8 supports g++ up to 11.
ccbin=$(command -v g++-11 || command -v g++)
status=0
for f in ${@:-cuda/*.cu}; do
  echo "nvcc $f"
  nvcc -std=c++17 -arch=sm_90 -ccbin "$ccbin" -c "$f" -o "$tmp/$(basename "$f").o" \
    -I engine/include -I cuda -I "$tmp" -I /usr/include/torch/csrc/api/include \
    -D_GLIBCXX_USE_CXX11_ABI=1 -Xcompiler -Wall -Xcudafe --diag_suppress=20012 || status=1
done
exit $status
