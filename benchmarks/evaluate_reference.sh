#!/usr/bin/env bash
# Evaluate a finished reference run the way the README's reference table does, and keep the
# results in the repository (results/reference/NAME/), so that they outlive the run folder.
#
#   bash benchmarks/evaluate_reference.sh RUN NAME [RESULTS_DIR]
#
# 1. greedy search on the whole test split;
# 2. beam width and length penalty chosen on 500 seeded validation sources
#    (benchmarks/choose_decoding.py), never on the test split;
# 3. the chosen setting, once, on the whole test split;
# 4. checkpoint averaging of the last kept epochs on 800 seeded validation sources;
# 5. beam − greedy on the test split with Koehn's paired bootstrap, overall and by length.
#
# Kept in RESULTS_DIR/NAME (default results/reference/NAME): run.json, test-greedy.json,
# decoding.json, test-beam.json, averaging.json, beam-vs-greedy.json and the model's test
# translations, one line per distinct test source (hypotheses-greedy.txt,
# hypotheses-beam.txt), which benchmarks/compare_translations.py --pairs compares with
# other systems' later. The exported splits and the TSVs (corpus text) stay next to the run,
# in RUN-evaluation/, outside the repository. A step whose result exists is skipped, so an
# interrupted evaluation continues where it stopped.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: bash benchmarks/evaluate_reference.sh RUN NAME [RESULTS_DIR]" >&2
  exit 2
fi
run=$(realpath -m "$1")                # absolute: the script works from the repository root
name=$2
root=$(cd "$(dirname "$0")/.." && pwd)
results=$(realpath -m "${3:-$root/results/reference}")/$name
python=${PYTHON:-python}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

status=$("$python" -c 'import json, sys
try:
    print(json.load(open(sys.argv[1])).get("status", "?"))
except (OSError, ValueError):
    print("missing")' "$run/run.json")
if [ "$status" != complete ]; then
  echo "evaluate_reference: $run is not a finished run (run.json: $status);" \
       "finish it with: python -m course_lib train --out $run --resume" >&2
  exit 1
fi
work=$run-evaluation
mkdir -p "$work" "$results"
cd "$root"

done_already() {
  if [ -s "$1" ]; then echo "evaluate_reference: kept $1"; return 0; fi
  echo "evaluate_reference: $(date +%H:%M:%S) writing $1"
  return 1
}
step() {  # step OUTPUT COMMAND...: COMMAND's standard output (JSON) becomes OUTPUT
  local output=$1
  shift
  done_already "$output" && return
  "$@" > "$output.partial"
  mv "$output.partial" "$output"     # only a finished step counts as done
}
benchmark() {  # benchmark OUTPUT SCRIPT ARGS...: the script's --json becomes OUTPUT
  local output=$1
  shift
  done_already "$output" && return
  "$python" "$@" --json "$output.partial" > "$work/${output##*/}.log"
  mv "$output.partial" "$output"
  rm -f "$work/${output##*/}.log"
}

cp "$run/run.json" "$results/run.json"
step "$work/splits.json" "$python" -m course_lib data --export "$work/splits"
test_pairs=$work/splits/test.tsv
step "$results/test-greedy.json" "$python" -m course_lib evaluate "$run" \
  --pairs "$test_pairs" --out "$work/test-greedy.tsv"
benchmark "$results/decoding.json" benchmarks/choose_decoding.py "$run" --sample 500
read -r beam alpha < <("$python" -c 'import json, sys
chosen = json.load(open(sys.argv[1]))["chosen"]
print(chosen["beam"], chosen["length_penalty"])' "$results/decoding.json")
echo "evaluate_reference: chosen on validation: beam $beam, length penalty $alpha"
step "$results/test-beam.json" "$python" -m course_lib evaluate "$run" --pairs "$test_pairs" \
  --beam "$beam" --length-penalty "$alpha" --out "$work/test-beam.tsv"
benchmark "$results/averaging.json" benchmarks/checkpoint_averaging.py "$run" --sample 800
benchmark "$results/beam-vs-greedy.json" benchmarks/compare_translations.py \
  greedy="$work/test-greedy.tsv" beam="$work/test-beam.tsv" --save-hypotheses "$work/hypotheses"
cp "$work/hypotheses/greedy.txt" "$results/hypotheses-greedy.txt"
cp "$work/hypotheses/beam.txt" "$results/hypotheses-beam.txt"
echo "evaluate_reference: results in $results"
