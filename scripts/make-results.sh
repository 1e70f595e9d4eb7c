#!/usr/bin/env bash
# Regenerates the measured parts of docs/results.md from the results files, so no number in its
# tables is typed by hand:
#   - every block between a line `<!-- hqsweep report ARGS -->` and the next `<!-- end -->` is
#     replaced by the output of `hqsweep report ARGS --format markdown`, and a block opened by
#     `<!-- epoch_costs ARGS -->` by that of `scripts/epoch_costs.py ARGS`;
#   - for every line `<!-- figures RESULTS.h5 -->` the figures of that file are drawn into
#     figures/NAME/ beside the document (scripts/plot.py; NAME is the file's name without .h5).
# The prose around the blocks is kept as written. Usage: bash scripts/make-results.sh [DOC.md]
# (default docs/results.md; paths in the blocks are relative to the project root;
# HQSWEEP_BUILD_DIR: where hqsweep was built, default build/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
hqsweep=${HQSWEEP_BUILD_DIR:-$root/build}/orchestrator/hqsweep
doc=$(realpath -m "${1:-$root/docs/results.md}")
figures=$(dirname "$doc")/figures
cd "$root"
[[ -f $doc ]] || { echo "make-results: $doc: no such file" >&2; exit 1; }
[[ -x $hqsweep ]] || { echo "make-results: $hqsweep not found; build first" >&2; exit 1; }

declare -A plotted=()
out=$(mktemp "$doc.XXXXXX")
trap 'rm -f "$out"' EXIT
skipping=0
line_number=0
while IFS= read -r line || [[ -n $line ]]; do
  line_number=$((line_number + 1))
  if [[ $line =~ ^\<!--\ (hqsweep\ report|epoch_costs)\ (.*)\ --\>$ ]]; then
    ((skipping)) && { echo "$doc:$line_number: block inside another (no <!-- end -->)" >&2; exit 1; }
    kind=${BASH_REMATCH[1]}
    read -r -a args <<<"${BASH_REMATCH[2]}"
    printf '%s\n\n' "$line" >>"$out"
    if [[ $kind == epoch_costs ]]; then
      command=(/usr/bin/python3 scripts/epoch_costs.py "${args[@]}")
    else
      command=("$hqsweep" report "${args[@]}" --format markdown)
    fi
    if ! "${command[@]}" >>"$out"; then
      echo "$doc:$line_number: $kind ${args[*]} failed" >&2
      exit 1
    fi
    printf '\n' >>"$out"
    skipping=1
  elif [[ $line =~ ^\<!--\ figures\ (.*)\ --\>$ ]]; then
    [[ -f ${BASH_REMATCH[1]} ]] || { echo "$doc:$line_number: ${BASH_REMATCH[1]}: no such results file" >&2; exit 1; }
    plotted[${BASH_REMATCH[1]}]=1
    printf '%s\n' "$line" >>"$out"
  elif [[ $line == '<!-- end -->' ]]; then
    ((skipping)) || { echo "$doc:$line_number: <!-- end --> without an open block" >&2; exit 1; }
    printf '%s\n' "$line" >>"$out"
    skipping=0
  elif ((!skipping)); then
    printf '%s\n' "$line" >>"$out"
  fi
done <"$doc"
((skipping)) && { echo "$doc: the last report block has no <!-- end -->" >&2; exit 1; }
mv "$out" "$doc"
trap - EXIT

for file in "${!plotted[@]}"; do
  name=$(basename "$file" .h5)
  rm -rf "${figures:?}/$name"
  /usr/bin/python3 scripts/plot.py "$file" --out "$figures/$name" >/dev/null
  echo "make-results: figures of $file in $figures/$name"
done
echo "make-results: $doc updated"
