#!/usr/bin/env bash
# scripts/make-results.sh on a small document: a report block is filled from a results file (and
# filled again, not appended, on a second run), the prose stays, figures are drawn beside the
# document, and a block without its end or a failing report exits 1 naming the line, leaving the
# document as it was. Usage: make_results_test.sh HQSWEEP REPORT_FIXTURE
set -uo pipefail
hqsweep=$1
fixture=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
/usr/bin/python3 -c 'import h5py, pandas, matplotlib' 2>/dev/null || { echo "skipped: python3-h5py, pandas, matplotlib needed"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HQSWEEP_BUILD_DIR=$work/build
mkdir -p "$work/build/orchestrator"
ln -s "$hqsweep" "$work/build/orchestrator/hqsweep"
"$fixture" "$work/fixture.h5" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

doc=$work/doc.md
cat >"$doc" <<DOC
# Title
Prose before.
<!-- hqsweep report $work/fixture.h5 --by fusion --metrics acc -->
stale text
<!-- end -->
Prose after.
<!-- epoch_costs $work/fixture.h5 -->
<!-- end -->
<!-- figures $work/fixture.h5 -->
DOC
bash "$root/scripts/make-results.sh" "$doc" >/dev/null || fail "make-results exited $?"
grep -q "stale text" "$doc" && fail "the block was not replaced"
grep -q "Prose before." "$doc" && grep -q "Prose after." "$doc" || fail "prose lost"
grep -q "^| classical " "$doc" || fail "no Markdown row for classical: $(cat "$doc")"
grep -q "^| hqcnn | dhf | 6 | 2.5 | 1.25 | 20% |" "$doc" || fail "no epoch_costs row: $(cat "$doc")"
ls "$work/figures/fixture/"bars-*.png >/dev/null 2>&1 || fail "no figures beside the document"
cp "$doc" "$work/once.md"
bash "$root/scripts/make-results.sh" "$doc" >/dev/null || fail "second run exited $?"
cmp -s "$doc" "$work/once.md" || fail "a second run changed the document: $(diff "$work/once.md" "$doc")"

printf '%s\n' "<!-- hqsweep report $work/fixture.h5 -->" "no end" >"$work/open.md"
cp "$work/open.md" "$work/open.before"
message=$(bash "$root/scripts/make-results.sh" "$work/open.md" 2>&1) && fail "a block without end passed"
[[ $message == *"no <!-- end -->"* ]] || fail "unexpected message: $message"
cmp -s "$work/open.md" "$work/open.before" || fail "a refused document was changed"

printf '%s\n' "x" "<!-- hqsweep report $work/missing.h5 -->" "<!-- end -->" >"$work/bad.md"
message=$(bash "$root/scripts/make-results.sh" "$work/bad.md" 2>&1) && fail "a missing results file passed"
[[ $message == *"bad.md:2: hqsweep report"* ]] || fail "the failing block's line is not named: $message"
# Each refusal names the document (and line) and what is wrong, and leaves the document alone.
refuses() {  # DOC_TEXT EXPECTED_WORDS
  printf '%s\n' "$1" >"$work/refused.md"
  cp "$work/refused.md" "$work/refused.before"
  message=$(bash "$root/scripts/make-results.sh" "$work/refused.md" 2>&1) && fail "passed: $1"
  [[ $message == *"$2"* ]] || fail "for '$1' expected '$2', got: $message"
  cmp -s "$work/refused.md" "$work/refused.before" || fail "a refused document was changed: $1"
}
refuses "$(printf 'x\n<!-- end -->')" "refused.md:2: <!-- end --> without an open block"
refuses "$(printf '<!-- epoch_costs %s -->\n<!-- hqsweep report %s -->' "$work/fixture.h5" "$work/fixture.h5")" \
  "refused.md:2: block inside another"
refuses "<!-- figures $work/none.h5 -->" "refused.md:1: $work/none.h5: no such results file"
message=$(bash "$root/scripts/make-results.sh" "$work/absent.md" 2>&1) && fail "a missing document passed"
[[ $message == *"absent.md: no such file"* ]] || fail "missing document not named: $message"
echo "make-results: every case passed"
