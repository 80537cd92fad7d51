#!/usr/bin/env bash
# Issue 13's anchor, in one sitting: tapegrad's moons pass (a reused tape, the instruction-count
# runner's `moons-tape` workload) against JAX's whole loop compiled into one jit(fori_loop), both
# f64, one thread, pinned to the same core, interleaved ROUNDS times; prints each system's median
# and range per pass and the ratio of the medians.
#
#   python3 -m venv .venv && .venv/bin/pip install -r benches/anchors/requirements.txt
#   PYTHON=.venv/bin/python bash benches/anchors/run.sh [ROUNDS] [CORE]
#
# Not run by CI (it needs Python and a quiet machine). PyTorch's MLP anchor is not written yet.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-5}
core=${2:-1}
python=${PYTHON:-python3}
passes=40000
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

bin=$(cargo bench --bench instructions --no-run 2>&1 | sed -n 's/.*Executable .* (\(.*\))/\1/p')
tape=()
jax=()
for _ in $(seq "$rounds"); do
  start=$(date +%s.%N)
  taskset -c "$core" "$bin" moons-tape "$passes"
  end=$(date +%s.%N)
  tape+=("$("$python" -c "print(($end - $start) / $passes * 1e6)")")
  jax+=("$(taskset -c "$core" "$python" benches/anchors/jax_moons.py "$passes" 1 2>/dev/null | awk '{print $2}')")
done
summary() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {printf "median %.2f µs (%.2f–%.2f)", v[int((NR+1)/2)], v[1], v[NR]}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "moons pass, $rounds interleaved rounds of $passes passes on core $core, $(date -u +%F)"
echo "  tapegrad (reused tape): $(summary "${tape[@]}")"
echo "  JAX $("$python" -c 'import jax; print(jax.__version__)') jit(fori_loop): $(summary "${jax[@]}")"
echo "  tapegrad / JAX: $("$python" -c "print('%.2f' % ($(median "${tape[@]}") / $(median "${jax[@]}")))")"
