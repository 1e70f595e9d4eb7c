#!/usr/bin/env bash
# HtmlReportTest: scripts/report_html.py on a sweep's results and on a study, opened in a real
# headless Chromium: a screenshot is taken, the page's own script reports what rendered (tables,
# images decoded), and the console shows no error.
#   html_report_test.sh HQSWEEP REPORT_FIXTURE [SCREENSHOT_DIR]
# Skipped (77) without Chromium or the Python packages (scripts/install-deps.sh installs them).
set -euo pipefail
hqsweep=$(realpath "$1")
fixture=$(realpath "$2")
shots=${3:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
command -v chromium >/dev/null || { echo "skipped: chromium is not installed"; exit 77; }
/usr/bin/python3 -c "import h5py, pandas, matplotlib" 2>/dev/null ||
  { echo "skipped: python3-h5py, python3-pandas or python3-matplotlib missing"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# A sweep's results (the report fixture: backbones x fusions x qubits x seeds, curves, ROC data,
# a failed run), and a small study of probe tasks with pruned trials.
"$fixture" fusion.h5
cat > study.json <<'JSON'
{"name": "study",
 "base": {"model": {"backbone": "probe"},
          "probe": {"duration_ms": 30, "epochs": 9, "objective": "branin"}},
 "search": {"trials": 16, "metric": "probe_objective", "startup_trials": 4, "seed": 1,
            "space": {"probe.x": {"uniform": [-5, 10]}, "probe.y": {"uniform": [0, 15]}}},
 "stopping": {"algorithm": "asha", "min_epochs": 1, "reduction_factor": 3}}
JSON
"$hqsweep" run study.json --out study.h5 --workers 2 --progress-interval 100 2>/dev/null

# Opens PAGE in headless Chromium: a screenshot, the DOM after the load event, the console.
open_in_chromium() {  # PAGE NAME
  local flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-extensions
               --user-data-dir="$work/profile-$2" --hide-scrollbars)
  chromium "${flags[@]}" --window-size=1280,2400 --screenshot="$work/$2.png" "file://$work/$1" \
    >/dev/null 2>"$2-shot.log"
  chromium "${flags[@]}" --virtual-time-budget=10000 --enable-logging=stderr --v=0 --dump-dom \
    "file://$work/$1" >"$2-dom.html" 2>"$2-console.log"
  [ -s "$work/$2.png" ] || { echo "no screenshot of $1" >&2; cat "$2-shot.log" >&2; exit 1; }
  /usr/bin/python3 - "$2-dom.html" "$2-console.log" "$work/$2.png" "$3" <<'PY'
import re, struct, sys
dom, console, png, want_images = open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3], int(sys.argv[4])
title = re.search(r"<title>(.*?)</title>", dom, re.S)
assert title and title.group(1).startswith("hqsweep report: "), f"title: {title}"
body = re.search(r'<body[^>]*data-tables="(\d+)"[^>]*>', dom) or re.search(r"<body[^>]*>", dom)
attributes = dict(re.findall(r'data-([a-z-]+)="(\d+)"', body.group(0)))
assert attributes, f"the page's script did not run: {body.group(0)[:200]}"
tables, images, loaded = (int(attributes[k]) for k in ("tables", "images", "images-loaded"))
assert tables >= 2, f"{tables} tables"
assert images >= want_images and loaded == images, f"{loaded} of {images} images decoded"
assert "hqsweep-report: rendered" in console, "no console line from the page's script"
errors = [l for l in console.splitlines()
          if ("CONSOLE" in l and ("Uncaught" in l or "rror" in l)) or "Failed to load" in l]
assert not errors, "console errors:\n" + "\n".join(errors)
with open(png, "rb") as f:
    head = f.read(24)
assert head[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
width, height = struct.unpack(">II", head[16:24])
print(f"HtmlReportTest: {sys.argv[1].split('-')[0]}: title, {tables} tables, {loaded} images "
      f"decoded, no console error; screenshot {width}x{height}")
PY
}

/usr/bin/python3 "$root/scripts/report_html.py" fusion.h5 --out fusion.html --hqsweep "$hqsweep" \
  --compare fusion=classical --metrics acc,auc >/dev/null
grep -q "Failed runs" fusion.html && grep -q "(baseline)" fusion.html ||
  { echo "fusion.html lacks the failed runs or the comparison" >&2; exit 1; }
open_in_chromium fusion.html fusion 3
/usr/bin/python3 "$root/scripts/report_html.py" study.h5 --out study.html --hqsweep "$hqsweep" \
  >/dev/null
grep -q "<h2>Study: study.h5</h2>" study.html || { echo "study.html has no study section" >&2; exit 1; }
open_in_chromium study.html study 3
# Refusals: no such file, not a results file.
if /usr/bin/python3 "$root/scripts/report_html.py" absent.h5 --out x.html --hqsweep "$hqsweep" 2>err.txt; then
  echo "a missing file was accepted" >&2; exit 1
fi
grep -q "absent.h5: no such results file" err.txt || { cat err.txt >&2; exit 1; }
echo "not hdf5" > bad.h5
if /usr/bin/python3 "$root/scripts/report_html.py" bad.h5 --out x.html --hqsweep "$hqsweep" 2>err.txt; then
  echo "a damaged file was accepted" >&2; exit 1
fi
grep -q "bad.h5: not an hqsweep results file" err.txt || { cat err.txt >&2; exit 1; }
[ ! -e x.html ] || { echo "a refused report wrote its page" >&2; exit 1; }
if [ -n "$shots" ]; then mkdir -p "$shots" && cp fusion.png study.png "$shots/"; fi
echo "HtmlReportTest: both pages render in Chromium"
