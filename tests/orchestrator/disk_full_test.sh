#!/bin/sh
# A full disk under a running sweep: the results directory on a 2 MB tmpfs. hqsweep run must exit 1
# with the message (never a crash), leave the journal whole, and after space is freed the same
# command must resume with nothing lost. Needs root (mount); skipped (77) otherwise.
#   disk_full_test.sh HQSWEEP
set -u
hqsweep=$1
if [ "$(id -u)" -ne 0 ]; then echo "skipped: mounting a tmpfs needs root"; exit 77; fi
work=$(mktemp -d)
mkdir "$work/disk"
if ! mount -t tmpfs -o size=2m tmpfs "$work/disk" 2> "$work/mount.err"; then
  echo "skipped: cannot mount a tmpfs here: $(cat "$work/mount.err")"; rm -rf "$work"; exit 77
fi
trap 'umount "$work/disk" 2> /dev/null; rm -rf "$work"' EXIT
fail() { echo "FAILED: $*"; exit 1; }
cat > "$work/sweep.json" <<'JSON'
{"base": {"model": {"backbone": "probe"}}, "grid": {"probe.duration_ms": [0, 1]}, "seeds": 2000}
JSON
results=$work/disk/results.h5

"$hqsweep" run "$work/sweep.json" --out "$results" --workers 2 --progress-interval 1000 \
  > "$work/full.log" 2>&1
code=$?
cat "$work/full.log"
[ "$code" -eq 1 ] || fail "exit code $code on a full disk, expected 1"
grep -q "safe in the journal" "$work/full.log" || fail "the message does not say what is safe"
grep -q "No space left on device" "$work/full.log" || fail "the message does not say why"
stored=$("$hqsweep" ls "$results" --json | grep -c '"run_id"')
[ "$stored" -gt 0 ] || fail "no run readable from the journal after the full disk"
echo "full disk: $stored runs stored before it filled"

mount -o remount,size=64m "$work/disk" || fail "cannot make room on the tmpfs"
"$hqsweep" run "$work/sweep.json" --out "$results" --workers 2 --progress-interval 1000 \
  > "$work/resume.log" 2>&1 || { cat "$work/resume.log"; fail "the resume after freeing space failed"; }
grep -q "$stored already done" "$work/resume.log" || { cat "$work/resume.log"; fail "the resume did not find the $stored stored runs"; }
done_runs=$("$hqsweep" ls "$results" --json | grep -c '"status": "done"')
[ "$done_runs" -eq 4000 ] || fail "$done_runs of 4000 runs done after the resume"
echo "resumed: 4000 of 4000 runs done"
