#!/usr/bin/env python3
"""One self-contained HTML page from hqsweep results files (docs/analysis.md).

The page holds the sweep's summary, the comparison table with its statistics (as `hqsweep report
--format json` computes them: the same numbers as the text table), the figures of
scripts/plot.py inlined as PNG, the failed runs with their errors, and for a study its best
trials and history (`hqsweep report --study`) and its figures (history, intermediate values,
parameter importances, parallel coordinates). No network, no server: open it in any browser.

Usage: report_html.py RESULTS.h5 [MORE.h5 ...] --out report.html
                      [--compare KEY=VALUE] [--metrics acc,auc] [--hqsweep PATH]
Needs h5py, pandas and matplotlib (scikit-learn for a study's importances); run with
/usr/bin/python3 for Debian's packages.
"""
import argparse
import base64
import contextlib
import html
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import plot  # noqa: E402

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222;
       padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; } img { max-width: 100%; height: auto; border: 1px solid #eee; }
pre { white-space: pre-wrap; margin: 0; font-size: 0.85em; max-height: 12em; overflow: auto; }
.note { color: #555; font-size: 0.9em; } .error { color: #a00; }
"""

# Counts what rendered, for people and for the test that opens the page in Chromium.
SCRIPT = """
window.addEventListener('load', function () {
  var images = Array.from(document.images);
  var loaded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var tables = document.querySelectorAll('table').length;
  document.body.dataset.imagesLoaded = loaded;
  document.body.dataset.images = images.length;
  document.body.dataset.tables = tables;
  console.log('hqsweep-report: rendered ' + tables + ' tables, ' + loaded + ' of ' +
              images.length + ' images');
});
"""

BadInput = plot.BadInput  # one kind of refusal for both scripts


def esc(value):
    return html.escape(str(value))


def find_hqsweep(given):
    candidates = [given, os.environ.get("HQSWEEP"),
                  os.path.join(HERE, "..", "build", "orchestrator", "hqsweep"),
                  shutil.which("hqsweep")]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise BadInput("cannot find the hqsweep executable: give --hqsweep PATH (or $HQSWEEP)")


def hqsweep_json(hqsweep, args):
    """The JSON `hqsweep ARGS --format json` prints, or (None, its error)."""
    done = subprocess.run([hqsweep] + args + ["--format", "json"], capture_output=True, text=True)
    if done.returncode != 0:
        return None, done.stderr.strip() or f"exit code {done.returncode}"
    return json.loads(done.stdout), None


def is_fraction(metric):
    return plot.is_fraction(metric)


def number(value, metric=None, digits=4):
    if value is None:
        return "-"
    if metric is not None and is_fraction(metric):
        return f"{100 * value:.1f}"
    return f"{value:.{digits}g}"


def table(headers, rows, numeric=()):
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = ' class="num"' if i in numeric else ""
            cells.append(f"<td{css}>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def summary_section(paths, index):
    counts = index.status.value_counts().to_dict()
    rows = [[esc(s), str(counts[s])] for s in sorted(counts)]
    sweeps = []
    for path in paths:
        name, command = recorded_sweep(path)
        sweeps.append([esc(path), esc(name), f"<code>{esc(command)}</code>"])
    busy = index.duration_s.sum()
    return ("<h2>Summary</h2>" +
            table(["results file", "sweep", "command"], sweeps) +
            table(["status", "runs"], rows, numeric=(1,)) +
            f'<p class="note">{len(index)} runs; {busy / 3600:.2f} worker-hours in tasks.</p>')


def recorded_sweep(path):
    import h5py
    try:
        with h5py.File(path, "r") as f:
            if "sweep" not in f:
                return "-", "-"
            attrs = f["sweep"].attrs
            text = lambda v: v.decode() if isinstance(v, bytes) else str(v)  # noqa: E731
            return text(attrs.get("name", "-")), text(attrs.get("command_line", "-"))
    except OSError:
        return "-", "-"


def comparison_section(report, error):
    if report is None:
        return f'<h2>Comparison</h2><p class="error">no table: {esc(error)}</p>'
    metrics = report["metrics"]
    keys = report["group_keys"]
    compare = report.get("compare")
    headers = list(keys) + ["done", "failed"]
    for m in metrics:
        unit = " %" if is_fraction(m) else ""
        headers.append(f"{m}{unit} mean ± std [95% CI]")
    if compare:
        headers.append("pairs")
        headers += [f"{m} vs {compare['key']}={compare['value']}" for m in metrics]
    rows = []
    for g in report["groups"]:
        row = [esc(g["keys"].get(k) or "-") for k in keys] + [str(g["done"]), str(g["failed"])]
        for m in metrics:
            s = g["metrics"][m]
            cell = f"{number(s['mean'], m)} ± {number(s['std'], m)}"
            if s["ci_low"] is not None:
                cell += f" [{number(s['ci_low'], m)}, {number(s['ci_high'], m)}]"
            row.append(esc(cell))
        if compare:
            c = g.get("comparison", {})
            if c.get("is_baseline"):
                row += ["-"] + ["(baseline)"] * len(metrics)
            elif c.get("baseline") is None:
                row += ["-"] + ["no baseline"] * len(metrics)
            else:
                row.append(str(c["pairs"]))
                for m in metrics:
                    mc = c["metrics"][m]
                    diff = mc["difference"]
                    shown = "-" if diff is None else (f"{100 * diff:+.1f}" if is_fraction(m)
                                                      else f"{diff:+.4g}")
                    row.append(esc(f"{shown} (p={number(mc['p_t'], None, 3)} t, "
                                   f"{number(mc['p_wilcoxon'], None, 3)} W)"))
        rows.append(row)
    numeric = set(range(len(keys), len(headers)))
    return ("<h2>Comparison</h2>" + table(headers, rows, numeric) +
            f'<p class="note">{report["done"]} of {report["runs"]} runs done. Percentages for '
            "fractions; ± sample std over seeds; [95% CI] from Student's t, clipped to the "
            "metric's range; p from the paired t-test (t) and the Wilcoxon signed-rank test (W) "
            "over runs paired by seed.</p>")


def failed_section(index):
    failed = index[index.status.isin(["failed", "timeout"])]
    if failed.empty:
        return "<h2>Failed runs</h2><p>None.</p>"
    rows = [[f"<code>{esc(r.run_id)}</code>", esc(r.status), str(r.attempt),
             f"<pre>{esc(r.error)}</pre>"] for r in failed.itertuples()]
    return "<h2>Failed runs</h2>" + table(["run_id", "status", "attempts", "error"], rows)


def study_section(hqsweep, path):
    study, error = hqsweep_json(hqsweep, ["report", path, "--study"])
    if study is None:
        return None
    trials = study["trials"]
    ended = [t for t in trials if t["value"] is not None]
    best = sorted(ended, key=lambda t: t["value"], reverse=study["mode"] == "max")[:10]
    rows = [[str(t["trial"]), esc(t["state"]), number(t["value"]),
             number(t.get("test")), str(t["epochs"]),
             esc(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in t["params"].items()))] for t in best]
    states = {}
    for t in trials:
        states[t["state"]] = states.get(t["state"], 0) + 1
    return (f"<h2>Study: {esc(path)}</h2>"
            f"<p>{len(trials)} trials ({esc(', '.join(f'{n} {s}' for s, n in states.items()))}); "
            f"{esc(study['mode'])} of {esc(study['metric'])}. The best by the study's metric "
            "(test value beside, never used for choosing):</p>" +
            table(["trial", "state", study["metric"], "test", "epochs", "values"], rows,
                  numeric=(0, 2, 3, 4)))


def figures_html(directory, names):
    parts = []
    for name in names:
        with open(os.path.join(directory, name), "rb") as f:
            data = base64.b64encode(f.read()).decode()
        parts.append(f'<figure><img alt="{esc(name)}" src="data:image/png;base64,{data}">'
                     f"<figcaption>{esc(name)}</figcaption></figure>")
    return "".join(parts)


def make_figures(paths, metric, study_paths):
    """PNG files of plot.py in a temporary folder: every kind for the runs, the study kind."""
    directory = tempfile.mkdtemp(prefix="hqsweep-report-")
    notes = []
    with contextlib.redirect_stdout(io.StringIO()):  # plot.py lists the files it wrote
        code = plot.main(["plot.py", *paths, "--out", directory, "--metric", metric])
        for path in study_paths:
            plot.main(["plot.py", path, "--out", directory, "--kind", "study"])
    if code != 0:
        notes.append("plot.py could not draw the runs' figures (its message is on stderr)")
    return directory, sorted(os.listdir(directory)), notes


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+")
    parser.add_argument("--out", required=True, help="the HTML file to write")
    parser.add_argument("--compare", help="KEY=VALUE, as hqsweep report --compare")
    parser.add_argument("--metrics", help="as hqsweep report --metrics")
    parser.add_argument("--hqsweep", help="the hqsweep executable (default: build/ or PATH)")
    args = parser.parse_args(argv[1:])
    try:
        hqsweep = find_hqsweep(args.hqsweep)
        import pandas as pd
        index = pd.concat([plot.read_index(path) for path in args.results],
                          ignore_index=True).drop_duplicates("run_id", keep="first")
        report_args = ["report", *args.results]
        if args.compare:
            report_args += ["--compare", args.compare]
        if args.metrics:
            report_args += ["--metrics", args.metrics]
        report, error = hqsweep_json(hqsweep, report_args)
        studies = []
        for path in args.results:
            section = study_section(hqsweep, path)
            if section:
                studies.append((path, section))
        metric = report["metrics"][0] if report and report["metrics"] else "test_acc"
        directory, figures, notes = make_figures(args.results, metric, [p for p, _ in studies])
        try:
            run_figures = [f for f in figures if "_study_" not in f]
            study_figures = [f for f in figures if "_study_" in f]
            body = [f"<h1>hqsweep report: {esc(', '.join(args.results))}</h1>",
                    summary_section(args.results, index),
                    comparison_section(report, error),
                    "<h2>Figures</h2>" + (figures_html(directory, run_figures) or
                                          "<p>No figures (no done runs).</p>") +
                    "".join(f'<p class="note">{esc(n)}</p>' for n in notes),
                    failed_section(index)]
            for _, section in studies:
                body.append(section)
            if study_figures:
                body.append(figures_html(directory, study_figures))
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    except BadInput as error:
        print(f"report_html.py: error: {error}", file=sys.stderr)
        return 1
    page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>hqsweep report: {esc(', '.join(os.path.basename(p) for p in args.results))}"
            f"</title><style>{CSS}</style></head><body>{''.join(body)}"
            f"<script>{SCRIPT}</script></body></html>\n")
    temporary = args.out + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(temporary, args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
