#!/usr/bin/env bash
# Issue 13's anchors, in one sitting, both f64, one thread, pinned to the same core, interleaved
# ROUNDS times; prints each system's median and range and the ratio of the medians:
# - the moons pass: tapegrad (a reused tape, the instruction-count runner's `moons-tape`
#   workload, the whole process timed) against JAX's whole loop compiled into one jit(fori_loop);
# - the MLP step: tapegrad (`mlp-tape`, timed inside the runner after 10 warm-up steps) against
#   PyTorch's eager autograd on the same data and initial weights (`torch_mlp.py`, which first
#   checks that its losses agree with tapegrad's).
# And tapegrad on both cores (feature `threads`, `TAPEGRAD_THREADS=2`, cores 0 and 1): the MLP
# step against its one-thread time, and the moons pass, which must not be slower for it.
#
#   python3 -m venv .venv && .venv/bin/pip install -r benches/anchors/requirements.txt
#   PYTHON=.venv/bin/python bash benches/anchors/run.sh [ROUNDS] [CORE]
#
# And issue 21's rows, one Jacobian or Hessian a call: the Jacobian of tanh(tanh(x Wa) Wb) at
# x [1, 100] by tapegrad's `jacobian`, `jacfwd`, `jacrev` against JAX's jit(jacfwd) and
# jit(jacrev), and the tutorial's 17x17 Hessian by `hessian` against jit(jax.hessian)
# (`jax_jacobians.py`). ROWS=jacobians runs those rows alone (no PyTorch needed).
#
# Every table is headed by the machine: its CPU model and the vector path tapegrad's kernels take
# (AVX-512, AVX2 or scalar). `TAPEGRAD_ISA=avx2` in the environment measures the moons pass's AVX2
# path on an AVX-512 machine (its products are tapegrad's own kernels) against JAX held to AVX2
# too (XLA's `--xla_cpu_max_isa=AVX2`), as an AVX2-only machine runs both; matrixmultiply's GEMM,
# which the MLP step's products take, chooses its kernel by the CPU alone, and so does PyTorch.
#
# Not run by CI (it needs Python and a quiet machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-5}
core=${2:-1}
python=${PYTHON:-python3}
passes=40000
steps=100
warmup=10
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
# JAX on the vector path tapegrad is held to, when it is held to AVX2.
jax_isa=""
if [[ ${TAPEGRAD_ISA:-} == avx2 ]]; then
  XLA_FLAGS+=" --xla_cpu_max_isa=AVX2"
  jax_isa=", JAX with --xla_cpu_max_isa=AVX2"
fi
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

rows=${ROWS:-all}
calls=2000
build=$(cargo bench --features threads --bench instructions --no-run 2>&1) || { echo "$build"; exit 1; }
bin=$(sed -n 's/.*Executable .* (\(.*\))/\1/p' <<<"$build")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
machine="${cpu:-unknown CPU}, $(getconf _NPROCESSORS_ONLN) cores, tapegrad's kernels on $("$bin" isa)${TAPEGRAD_ISA:+ (TAPEGRAD_ISA=$TAPEGRAD_ISA)}$jax_isa"
summary() { printf '%s\n' "${@:2}" | sort -g | awk -v unit="$1" '{v[NR]=$1} END {printf "median %.2f %s (%.2f–%.2f)", v[int((NR+1)/2)], unit, v[1], v[NR]}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ratio() { "$python" -c "print('%.2f' % ($1 / $2))"; }

if [[ $rows == all || $rows == jacobians ]]; then
  declare -A tape_j jax_j
  for _ in $(seq "$rounds"); do
    for w in jacobian jacfwd jacrev hessian; do
      tape_j[$w]+="$(taskset -c "$core" "$bin" "$w" "$calls" 50 | awk '{print $2}') "
    done
    while read -r name value; do
      jax_j[$name]+="$value "
    done < <(taskset -c "$core" "$python" benches/anchors/jax_jacobians.py "$calls" 1 2>/dev/null)
  done
  echo "$rounds interleaved rounds on core $core, $(date -u +%F), $(git rev-parse --short HEAD); $machine"
  echo "Jacobian of tanh(tanh(x Wa) Wb), x [1, 100] ($calls calls a round):"
  for w in jacobian jacfwd jacrev; do
    # shellcheck disable=SC2086
    echo "  tapegrad $w: $(summary µs ${tape_j[$w]})"
  done
  for name in jacfwd jacrev; do
    # shellcheck disable=SC2086
    echo "  JAX jit($name): $(summary µs ${jax_j[jax-$name-us]})"
  done
  # shellcheck disable=SC2086
  faster=$("$python" -c "print(min($(median ${jax_j[jax-jacfwd-us]}), $(median ${jax_j[jax-jacrev-us]})))")
  for w in jacobian jacfwd jacrev; do
    # shellcheck disable=SC2086
    echo "  tapegrad $w / JAX's faster: $(ratio "$(median ${tape_j[$w]})" "$faster")"
  done
  echo "The tutorial's 17x17 Hessian at its initial weights:"
  # shellcheck disable=SC2086
  echo "  tapegrad hessian: $(summary µs ${tape_j[hessian]})"
  # shellcheck disable=SC2086
  echo "  JAX jit(hessian): $(summary µs ${jax_j[jax-hessian-us]})"
  # shellcheck disable=SC2086
  echo "  tapegrad / JAX: $(ratio "$(median ${tape_j[hessian]})" "$(median ${jax_j[jax-hessian-us]})")"
fi
[[ $rows == jacobians ]] && exit 0

mlp_dir=$(mktemp -d)
trap 'rm -rf "$mlp_dir"' EXIT
"$bin" export-mlp "$mlp_dir" 5
"$python" benches/anchors/torch_mlp.py "$mlp_dir" 1 0 0 # the losses check, once, before timing

tape=()
jax=()
tape_mlp=()
torch_mlp=()
tape2=()
tape2_mlp=()
tape1=()
tape_mlp_cpu=()
torch_mlp_cpu=()
for _ in $(seq "$rounds"); do
  start=$(date +%s.%N)
  taskset -c "$core" "$bin" moons-tape "$passes"
  end=$(date +%s.%N)
  tape+=("$("$python" -c "print(($end - $start) / $passes * 1e6)")")
  jax+=("$(taskset -c "$core" "$python" benches/anchors/jax_moons.py "$passes" 1 2>/dev/null | awk '{print $2}')")
  line=$(taskset -c "$core" "$bin" mlp-tape "$steps" "$warmup")
  tape_mlp+=("$(awk '{print $2 / 1000}' <<<"$line")")
  tape_mlp_cpu+=("$(awk '{print $4 / 1000}' <<<"$line")")
  line=$(taskset -c "$core" "$python" benches/anchors/torch_mlp.py "$mlp_dir" "$steps" 1 "$warmup" 2>/dev/null)
  torch_mlp+=("$(awk '{print $2 / 1000}' <<<"$line")")
  torch_mlp_cpu+=("$(awk '{print $4 / 1000}' <<<"$line")")
  tape2_mlp+=("$(TAPEGRAD_THREADS=2 taskset -c 0,1 "$bin" mlp-tape "$steps" "$warmup" | awk '{print $2 / 1000}')")
  tape1+=("$(taskset -c 0,1 "$bin" moons-tape "$passes" 1000 | awk '{print $2}')")
  tape2+=("$(TAPEGRAD_THREADS=2 taskset -c 0,1 "$bin" moons-tape "$passes" 1000 | awk '{print $2}')")
done
echo "$rounds interleaved rounds on core $core, $(date -u +%F), $(git rev-parse --short HEAD); $machine"
echo "moons pass ($passes passes a round):"
echo "  tapegrad (reused tape): $(summary µs "${tape[@]}")"
echo "  JAX $("$python" -c 'import jax; print(jax.__version__)') jit(fori_loop): $(summary µs "${jax[@]}")"
echo "  tapegrad / JAX: $(ratio "$(median "${tape[@]}")" "$(median "${jax[@]}")")"
echo "MLP step ($steps steps a round after $warmup warm-up steps):"
echo "  tapegrad: $(summary ms "${tape_mlp[@]}")"
echo "  PyTorch $("$python" -c 'import torch; print(torch.__version__)') eager, 1 thread: $(summary ms "${torch_mlp[@]}")"
echo "  tapegrad / PyTorch: $(ratio "$(median "${tape_mlp[@]}")" "$(median "${torch_mlp[@]}")")"
echo "  time on the CPU (other processes on the core do not count): tapegrad $(summary ms "${tape_mlp_cpu[@]}"), PyTorch $(summary ms "${torch_mlp_cpu[@]}"), ratio $(ratio "$(median "${tape_mlp_cpu[@]}")" "$(median "${torch_mlp_cpu[@]}")")"
echo "tapegrad on 2 threads (cores 0,1):"
echo "  MLP step: $(summary ms "${tape2_mlp[@]}"), $(ratio "$(median "${tape_mlp[@]}")" "$(median "${tape2_mlp[@]}")")x faster than on 1"
echo "  moons pass, timed inside the runner: $(summary µs "${tape2[@]}"); on 1 thread, cores 0,1: $(summary µs "${tape1[@]}")"
