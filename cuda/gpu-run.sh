#!/usr/bin/env bash
# Runs the CUDA build of `bench` on a GPU machine (written beside bench.xz by `make cuda`; carry
# target-cuda/dist there). Decompresses the binary, finds the CUDA libraries it links against
# (cuBLAS, cuRAND, NVRTC, the CUDA runtime: the system's, or pip's nvidia-* wheels), writes the
# tiny model, then runs the performance sweep and a tiny image run. Everything they print and
# write goes to $OUT (default ./gpu-out): perf.json, the run directory, logs, nvidia-smi.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$PWD/gpu-out}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-run.log") 2>&1

xz -dc "$HERE/bench.xz" > "$WORK/bench" && chmod +x "$WORK/bench"
BENCH=$WORK/bench

# Library directories holding each library the binary needs, first hit wins.
lib_dirs=""
for lib in libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libnvrtc.so.13 libcudart.so.13; do
    if ldconfig -p 2>/dev/null | grep -q "$lib"; then continue; fi
    hit=$(ls /usr/local/cuda*/lib64/$lib /usr/lib/x86_64-linux-gnu/$lib \
        /usr/local/lib/python3*/*-packages/nvidia/*/lib/$lib /usr/local/lib/python3*/*-packages/nvidia/cu13/lib/$lib /usr/lib/python3*/*-packages/nvidia/*/lib/$lib /usr/local/lib/python3*/*-packages/nvidia/cu13/lib/$lib \
        "$HOME"/.local/lib/python3*/site-packages/nvidia/*/lib/$lib /usr/local/lib/python3*/*-packages/nvidia/cu13/lib/$lib /opt/conda/lib/$lib 2>/dev/null | head -1)
    if [[ -n $hit ]]; then lib_dirs="$lib_dirs:$(dirname "$hit")"; else echo "gpu-run: $lib not found"; fi
done
export LD_LIBRARY_PATH=${lib_dirs#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
ldd "$BENCH" | grep -E "not found|cuda|cublas|curand|nvrtc" || true
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true

export SMOLBENCH_HOME=$WORK/home
"$BENCH" fixtures
"$BENCH" perf --model tiny --synthetic 256x256 --prompt-tokens 32 --output-tokens 32 --samples 64 \
    --batch-sizes 1,2,4,8,16,32,64 --warmup 1 --repeats 3 --out "$OUT/perf-tiny" || echo "gpu-run: perf failed ($?)"
"$BENCH" run --suite image --model tiny --limit 8 --out "$OUT/run-tiny" || echo "gpu-run: image run failed ($?)"
echo "gpu-run: done; results in $OUT"
