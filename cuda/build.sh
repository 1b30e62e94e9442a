#!/usr/bin/env bash
# Builds `bench` with `--features cuda` on a machine without a GPU or a CUDA toolkit (`make cuda`).
#
# 1. The CUDA compiler, runtime and libraries are PyPI wheels (CUDA 13: nvidia-cuda-nvcc, ...),
#    installed into a venv at target-cuda/venv; they share one toolkit tree, nvidia/cu13.
# 2. The driver library (libcuda.so) is no wheel: cudarc links against it, so a stub with its
#    entry points (the names cudarc declares) stands in at link time; the GPU machine's driver
#    provides the real one when the binary starts.
# 3. `cargo build --release --features cuda` runs with the compute capability given explicitly
#    (CUDA_COMPUTE_CAP, default 90: H100/H200) in its own target directory, target-cuda (the
#    features differ, so it shares no build with target/).
# 4. The binary is stripped and compressed (xz) into target-cuda/dist with gpu-run.sh, which runs
#    the performance sweep and a tiny image run on a GPU machine and keeps what they print.
#
# Environment: CUDA_COMPUTE_CAP (default 90), CARGO_BUILD_JOBS,
# CARGO (default cargo). Build time and binary sizes go to target-cuda/dist/build-info.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUTDIR=$ROOT/target-cuda
VENV=$OUTDIR/venv
DIST=$OUTDIR/dist
CAP=${CUDA_COMPUTE_CAP:-90}
CARGO=${CARGO:-cargo}
die() { echo "cuda/build.sh: $*" >&2; exit 1; }

# CUDA 13.0. The cu12 nvcc wheels (nvidia-cuda-nvcc-cu12, 12.4 to 12.9) hold only ptxas; the
# CUDA 13 wheels hold nvcc, cicc and the headers, all in one tree (nvidia/cu13). Kernels built
# by 13.0 need a driver >= 580 on the GPU machine.
WHEELS=(
    nvidia-cuda-nvcc==13.0.88
    "nvidia-cuda-runtime~=13.0.0"
    "nvidia-cuda-crt~=13.0.0"
    "nvidia-nvvm~=13.0.0"
    "nvidia-cuda-cccl~=13.0.0"
    "nvidia-cuda-nvrtc~=13.0.0"
    "nvidia-cublas~=13.0.0"
    "nvidia-curand~=10.4.0"
)

mkdir -p "$OUTDIR" "$DIST"
if [[ ! -x $VENV/bin/python ]]; then
    python3 -m venv "$VENV" || die "python3 -m venv failed: install python3-venv"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check "${WHEELS[@]}" \
    || die "pip could not install the CUDA wheels (${WHEELS[*]}); check access to PyPI"

CUDA_ROOT_DIR=$("$VENV/bin/python" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13"))')
[[ -x $CUDA_ROOT_DIR/bin/nvcc ]] || die "no nvcc in the nvidia-cuda-nvcc wheel at $CUDA_ROOT_DIR"
# The build scripts look for lib64/ and for libX.so; the wheels ship lib/ and libX.so.N.
ln -sfn lib "$CUDA_ROOT_DIR/lib64"
mkdir -p "$CUDA_ROOT_DIR/lib/stubs"
for lib in "$CUDA_ROOT_DIR"/lib/lib*.so.*; do
    base=$(basename "$lib")
    ln -sf "$base" "$CUDA_ROOT_DIR/lib/${base%%.so.*}.so"
done

# libcuda stub: every driver entry point cudarc declares, as empty functions. Never run: the
# binary's DT_NEEDED libcuda.so.1 resolves to the real driver on the GPU machine.
CUDARC_DRIVER=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.*/src/driver/sys/mod.rs | tail -1)
[[ -f $CUDARC_DRIVER ]] || die "cudarc sources not found; run 'cargo fetch' first"
grep -oE '^\s+fn cu[A-Za-z0-9_]+\(' "$CUDARC_DRIVER" | sed -E 's/^\s+fn (cu[A-Za-z0-9_]+)\(/void \1(void) {}/' \
    | sort -u > "$OUTDIR/libcuda_stub.c"
gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$CUDA_ROOT_DIR/lib/stubs/libcuda.so" "$OUTDIR/libcuda_stub.c"

"$ROOT/runners/patches/apply.sh"

export CUDA_HOME=$CUDA_ROOT_DIR CUDA_PATH=$CUDA_ROOT_DIR CUDA_ROOT=$CUDA_ROOT_DIR
export PATH=$CUDA_ROOT_DIR/bin:$PATH
export LIBRARY_PATH=$CUDA_ROOT_DIR/lib:$CUDA_ROOT_DIR/lib/stubs${LIBRARY_PATH:+:$LIBRARY_PATH}
export CUDA_COMPUTE_CAP=$CAP
# nvcc and cudaforge honour these; one job at a time unless asked otherwise.
export CUDAFORGE_THREADS=${CUDAFORGE_THREADS:-${CARGO_BUILD_JOBS:-1}}
nvcc --version | tail -2

start=$(date +%s)
CARGO_TARGET_DIR=$OUTDIR "$CARGO" build --release --features cuda --bin bench \
    --manifest-path "$ROOT/Cargo.toml" -p smolbench
end=$(date +%s)

BIN=$OUTDIR/release/bench
strip -o "$DIST/bench" "$BIN"
xz -T1 -9 -f -k "$DIST/bench"
cp "$ROOT/cuda/gpu-run.sh" "$DIST/gpu-run.sh"
chmod +x "$DIST/gpu-run.sh"
rm -f "$DIST/bench"
{
    echo "compute capability: $CAP"
    echo "cuda wheels: ${WHEELS[*]}"
    echo "build seconds: $((end - start)) (CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-default})"
    echo "binary bytes: $(stat -c %s "$BIN")"
    echo "stripped+xz bytes: $(stat -c %s "$DIST/bench.xz")"
    echo "needed libraries: $(readelf -d "$BIN" | awk '/NEEDED/ {print $5}' | tr -d '[]' | tr '\n' ' ')"
} | tee "$DIST/build-info.txt"
size=$(stat -c %s "$DIST/bench.xz")
(( size < 64 * 1024 * 1024 )) || die "compressed binary is $size bytes, over the 64 MiB carry"
echo "carry: target-cuda/dist (run: bash target-cuda/dist/gpu-run.sh)"
