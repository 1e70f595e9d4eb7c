#!/usr/bin/env python3
"""Figures from hqsweep results files (PNG, one file per figure and dataset).

    python3 scripts/plot.py RESULTS.h5 [MORE.h5 ...] --out DIR
                            [--kind all|curves|bars|qubits|roc|study]
                            [--metric test_acc]

  curves  mean learning curves per group (loss, validation accuracy), band = std over seeds;
          with more than 4 groups, means only, and a panel per group in curves-*-groups.png
  bars    a metric per group (fusion, qubits, ...), one bar per backbone, error bars = std
          over seeds; many groups are laid out in rows and files (bars-*-1.png, -2, ...)
  qubits  a metric against the qubit count, one line per backbone and fusion; the classical
          control as a dashed line
  roc     ROC curves from the stored test probabilities, one per group (binary: the positive
          class; several classes: micro-average one-vs-rest), seeds pooled
  study   a study's file (a `search` block; not part of `all`): optimisation history (best so
          far against trial number and against wall time), intermediate values per epoch with
          pruned runs marked, parameter importances (a random forest from scikit-learn, when
          python3-sklearn is installed) and a parallel-coordinates view

Groups are the config keys that vary except the seed, as in `hqsweep report`. Several files
(shards) are read as one. Needs Debian's python3-h5py, python3-pandas and python3-matplotlib
(scripts/install-deps.sh installs them); use /usr/bin/python3 if another Python comes first.
Exit codes: 0 figures written, 1 bad input (message names the file), 2 usage.
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load_results  # noqa: E402

KINDS = ("curves", "bars", "qubits", "roc")
STUDY_KIND = "study"
FRACTIONS = ("acc", "balanced_acc", "precision", "recall", "f1", "auc")


class BadInput(Exception):
    pass


def flatten(config, prefix=""):
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(flatten(value, prefix + key + "."))
        else:
            flat[prefix + key] = json.dumps(value) if isinstance(value, list) else value
    return flat


def read_index(path):
    """A results file's /index, or BadInput naming the file."""
    if not os.path.exists(path):
        raise BadInput(f"{path}: no such results file")
    try:
        index = load_results.load_index(path)
    except (OSError, KeyError) as error:
        raise BadInput(f"{path}: not an hqsweep results file ({error})")
    index["file"] = path
    return index


def load_runs(paths, metric=None):
    """Done runs of every file, one row per run_id, with flattened config columns and `file`;
    `metric`, when /index has no column for it (a program's own metric), read from each run."""
    runs = pd.concat([read_index(path) for path in paths], ignore_index=True)
    runs = runs[runs.status == "done"].drop_duplicates("run_id")
    if runs.empty:
        raise BadInput(f"{', '.join(paths)}: no done runs to plot")
    configs = pd.DataFrame([flatten(json.loads(text)) for text in runs.config], index=runs.index)
    metric_columns = [c for c in runs.columns if c.startswith(("val_", "test_"))]
    if metric and metric not in runs:
        runs[metric] = [load_results.load_metrics(row.file, row.run_id).get(metric, np.nan)
                        for row in runs.itertuples()]
        if runs[metric].notna().any():
            metric_columns.append(metric)
    return pd.concat([runs[["run_id", "file", "duration_s"] + metric_columns], configs], axis=1)


def varying_keys(runs):
    config_keys = [c for c in runs.columns if "." in c or c == "seed"]
    keys = [k for k in config_keys if runs[k].dropna().astype(str).nunique() > 1]
    return [k for k in keys if k != "seed"]


def label_of(row, keys):
    parts = []
    for key in keys:
        value = row[key]
        if pd.isna(value):
            continue
        if isinstance(value, float) and value.is_integer():  # pandas makes 4 -> 4.0 next to NaN
            value = int(value)
        elif isinstance(value, float):
            value = f"{value:.4g}"  # a searched value, not all its digits
        short = key.split(".")[-1] if not key.endswith(".name") else key.split(".")[0]
        parts.append(f"{value}" if short in ("fusion", "backbone", "dataset") else f"{short}={value}")
    return " ".join(parts) or "all runs"


def order_key(row, keys):
    """Groups sorted by their keys' values: numbers as numbers (qubits 4 before 10), absent
    values (a classical run's qubits) first, texts alphabetically."""
    key = []
    for k in keys:
        value = row[k]
        if pd.isna(value):
            key.append((0, 0, ""))
        elif isinstance(value, (int, float, np.integer, np.floating)):
            key.append((1, float(value), ""))
        else:
            key.append((2, 0, str(value)))
    return key


def groups(runs, keys):
    """(label, frame) per group of runs with the same values of keys, sorted by those values."""
    if not keys:
        return [("all runs", runs)]
    filled = runs[keys].astype(str)
    found = []
    by = [filled[k] for k in keys]
    for _, frame in runs.groupby(by if len(by) > 1 else by[0], sort=False):
        found.append((order_key(frame.iloc[0], keys), label_of(frame.iloc[0], keys), frame))
    found.sort(key=lambda entry: entry[0])
    return [(label, frame) for _, label, frame in found]


def per_dataset(runs):
    if "dataset.name" not in runs:
        return [("results", runs)]
    return [(name, frame) for name, frame in runs.groupby("dataset.name", sort=False)]


def is_fraction(metric):
    name = metric.split("_", 1)[1] if metric.startswith(("val_", "test_")) else metric
    return name.removesuffix("_tuned") in FRACTIONS


def axis_label(metric):
    split = "test" if metric.startswith("test_") else "validation" if metric.startswith("val_") else ""
    name = metric.split("_", 1)[1] if split else metric
    words = {"acc": "accuracy", "balanced_acc": "balanced accuracy", "f1": "F1", "auc": "ROC AUC"}
    text = f"{split} {words.get(name, name)}".strip()
    return text + (" (%)" if is_fraction(metric) else "")


def scale(metric):
    return 100.0 if is_fraction(metric) else 1.0


def save(figure, out_dir, name, written):
    path = os.path.join(out_dir, name)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    written.append(path)


MAX_BANDS = 4        # more groups than this: curves without bands, and a panel per group
PANELS_PER_FIGURE = 12
BARS_PER_PANEL = 10  # bars in one row of a bar figure; more go to further rows or files
ROWS_PER_FIGURE = 3


def integer_epochs(axis):
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))


def mean_and_band(series, name):
    """Mean and mean +- std over seeds of equally long curves, clipped to the metric's range."""
    length = min(len(s) for s in series)  # early stopping ends runs at different epochs
    values = np.array([s[:length] for s in series]) * scale(name)
    mean = np.nanmean(values, axis=0)
    std = np.nanstd(values, axis=0, ddof=1) if len(series) > 1 else None
    low, high = (None, None) if std is None else (mean - std, mean + std)
    if std is not None and is_fraction(name):
        low, high = np.clip(low, 0, 100), np.clip(high, 0, 100)
    return np.arange(1, length + 1), mean, low, high


def plot_curves(runs, keys, metric, out_dir, written):
    """Loss curves on the left; on the right validation accuracy, or `metric` where the runs have
    a curve of that name (a program's own). Bands (std over seeds) for up to MAX_BANDS groups;
    with more, the overview has means only and a second figure gives each group a panel of its
    own, its band in colour and the other groups' means in grey."""
    for dataset, frame in per_dataset(runs):
        inner = [k for k in keys if k != "dataset.name"]
        curves_of = {row.run_id: load_results.load_curves(row.file, row.run_id)
                     for row in frame.itertuples()}
        right = metric if any(metric in c for c in curves_of.values()) else "val_acc"
        has_loss = any(n in c for c in curves_of.values() for n in ("train_loss", "val_loss"))
        grouped = []
        for label, group in groups(frame, inner):
            curves = [c for c in (curves_of[row.run_id] for row in group.itertuples()) if not c.empty]
            if curves:
                grouped.append((label, curves))
        if not grouped:
            continue
        bands = len(grouped) <= MAX_BANDS
        if has_loss:
            figure, (loss_axis, acc_axis) = plt.subplots(1, 2, figsize=(12, 4.5))
        else:  # a program that reports no loss: its own curve alone
            figure, acc_axis = plt.subplots(1, 1, figsize=(7, 4.5))
            loss_axis = None
        for index, (label, curves) in enumerate(grouped):
            color = plt.cm.tab20(index % 20) if len(grouped) > 10 else f"C{index % 10}"
            for axis, name, style in ((loss_axis, "train_loss", "--"), (loss_axis, "val_loss", "-"),
                                      (acc_axis, right, "-")):
                series = [c[name].to_numpy() for c in curves if name in c]
                if axis is None or not series:
                    continue
                epochs, mean, low, high = mean_and_band(series, name)
                axis.plot(epochs, mean, style, color=color,
                          label=label if name != "train_loss" else None)
                if bands and low is not None:
                    axis.fill_between(epochs, low, high, color=color, alpha=0.15)
        if loss_axis is not None:
            loss_axis.set(title=f"{dataset}: loss (dashed train, solid validation)",
                          xlabel="epoch", ylabel="cross-entropy loss")
        what = "mean ± std over seeds" if bands else "mean over seeds; bands per group below"
        acc_axis.set(title=f"{dataset}: {axis_label(right).removesuffix(' (%)')}\n{what}",
                     xlabel="epoch", ylabel=axis_label(right))
        if is_fraction(right):
            acc_axis.set_ylim(None, min(100, acc_axis.get_ylim()[1]))
        acc_axis.legend(fontsize="small", loc="best", ncol=2 if len(grouped) > 6 else 1)
        for axis in (loss_axis, acc_axis):
            if axis is not None:
                axis.grid(alpha=0.3)
                integer_epochs(axis)
        save(figure, out_dir, f"curves-{dataset}.png", written)
        if not bands:
            plot_curve_panels(dataset, grouped, right, out_dir, written)


def plot_curve_panels(dataset, grouped, name, out_dir, written):
    """One panel per group: its mean and band, the other groups' means in grey."""
    means = []
    for label, curves in grouped:
        series = [c[name].to_numpy() for c in curves if name in c]
        means.append((label, mean_and_band(series, name) if series else None))
    pages = [means[i:i + PANELS_PER_FIGURE] for i in range(0, len(means), PANELS_PER_FIGURE)]
    for page_number, page in enumerate(pages, 1):
        columns = min(4, len(page))
        rows = (len(page) + columns - 1) // columns
        figure, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 2.8 * rows),
                                    sharex=True, sharey=True, squeeze=False)
        for axis, (label, curve) in zip(axes.flat, page):
            for other_label, other in means:
                if other is not None and other_label != label:
                    axis.plot(other[0], other[1], color="0.8", linewidth=0.8)
            if curve is not None:
                epochs, mean, low, high = curve
                axis.plot(epochs, mean, color="C0")
                if low is not None:
                    axis.fill_between(epochs, low, high, color="C0", alpha=0.25)
            axis.set_title(label, fontsize="small")
            axis.grid(alpha=0.3)
            integer_epochs(axis)
        for axis in axes.flat[len(page):]:
            axis.axis("off")
        for axis in axes[-1]:
            axis.set_xlabel("epoch")
        for axis in axes[:, 0]:
            axis.set_ylabel(axis_label(name), fontsize="small")
        if is_fraction(name):
            axes[0][0].set_ylim(None, min(100, axes[0][0].get_ylim()[1]))
        suffix = f"-{page_number}" if len(pages) > 1 else ""
        figure.suptitle(f"{dataset}: {axis_label(name).removesuffix(' (%)')} per group, "
                        "mean ± std over seeds (grey: the other groups)")
        save(figure, out_dir, f"curves-{dataset}-groups{suffix}.png", written)


def wrapped(label, width=14):
    """A bar label over lines of about `width` characters, broken at spaces."""
    lines, line = [], ""
    for word in label.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])


def plot_bars(runs, keys, metric, out_dir, written):
    """x: the groups apart from dataset and backbone (fusion, qubits, ...); one bar per backbone
    (runs without one, the circuit-only fusion, under "none"). At most BARS_PER_PANEL bars in a
    row, ROWS_PER_FIGURE rows in a file: a sweep of many groups gives several readable files."""
    factor = scale(metric)
    for dataset, frame in per_dataset(runs):
        backbone_key = "model.backbone" if "model.backbone" in keys else None
        frame = frame.copy()
        if backbone_key:
            frame[backbone_key] = frame[backbone_key].fillna("none")
        inner = [k for k in keys if k not in ("dataset.name", "model.backbone")]
        categories = [label for label, _ in groups(frame, inner)]
        backbones = list(dict.fromkeys(frame[backbone_key])) if backbone_key else [None]
        stats = {}
        for backbone in backbones:
            chosen = frame if backbone is None else frame[frame[backbone_key] == backbone]
            for label, group in groups(chosen, inner):
                values = group[metric].dropna() * factor
                if len(values):
                    stats[(backbone, label)] = (values.mean(),
                                                values.std(ddof=1) if len(values) > 1 else 0)
        per_row = max(1, BARS_PER_PANEL // len(backbones))
        row_count = -(-len(categories) // per_row)
        per_row = -(-len(categories) // row_count)  # rows of about equal length
        rows = [categories[i:i + per_row] for i in range(0, len(categories), per_row)]
        pages = [rows[i:i + ROWS_PER_FIGURE] for i in range(0, len(rows), ROWS_PER_FIGURE)]
        top = max((m + s for m, s in stats.values()), default=1)
        bottom = min((m - s for m, s in stats.values()), default=0)
        for page_number, page in enumerate(pages, 1):
            widest = max(len(r) for r in page) * len(backbones)
            figure, axes = plt.subplots(len(page), 1, squeeze=False,
                                        figsize=(min(14, max(6, 1.1 * widest + 2)),
                                                 3.6 * len(page) + 0.6))
            width = 0.8 / len(backbones)
            for axis, row in zip(axes[:, 0], page):
                for b, backbone in enumerate(backbones):
                    means = [stats.get((backbone, c), (np.nan, 0))[0] for c in row]
                    stds = [stats.get((backbone, c), (np.nan, 0))[1] for c in row]
                    positions = np.arange(len(row)) + (b - (len(backbones) - 1) / 2) * width
                    axis.bar(positions, means, width, yerr=stds, capsize=3,
                             label=backbone, color=f"C{b % 10}")
                axis.set_xticks(np.arange(len(row)), [wrapped(c) for c in row], fontsize="small")
                axis.set_xlim(-0.6, max(len(r) for r in page) - 0.4)
                if factor > 1:  # a percentage: from a little under the lowest bar, up to 100
                    axis.set_ylim(max(0, bottom - 5), min(100, top + 3))
                axis.set_ylabel(axis_label(metric))
                axis.grid(axis="y", alpha=0.3)
            axes[0, 0].set_title(f"{dataset}: {axis_label(metric)}, mean ± std over seeds" +
                                 (f" ({page_number} of {len(pages)})" if len(pages) > 1 else ""))
            axes[-1, 0].set_xlabel(" / ".join(k.split(".")[-1] for k in inner) or None)
            if backbone_key:
                axes[0, 0].legend(title="backbone", fontsize="small")
            suffix = f"-{page_number}" if len(pages) > 1 else ""
            save(figure, out_dir, f"bars-{metric}-{dataset}{suffix}.png", written)


def plot_qubits(runs, keys, metric, out_dir, written):
    if "quantum.qubits" not in runs or runs["quantum.qubits"].dropna().nunique() < 2:
        print("qubits: skipped, the qubit count does not vary in these runs", file=sys.stderr)
        return
    factor = scale(metric)
    for dataset, frame in per_dataset(runs):
        hybrid = frame[frame["quantum.qubits"].notna()]
        inner = [k for k in keys if k not in ("dataset.name", "quantum.qubits")]
        figure, axis = plt.subplots(figsize=(7, 4.5))
        lines = groups(hybrid, inner)
        for index, (label, group) in enumerate(lines):
            stats = group.groupby("quantum.qubits")[metric].agg(["mean", "std"]).sort_index()
            dodge = (index - (len(lines) - 1) / 2) * 0.08  # error bars side by side, not on top
            axis.errorbar(stats.index + dodge, stats["mean"] * factor,
                          yerr=stats["std"].fillna(0) * factor, marker="o", capsize=3, label=label)
        # The classical control (no circuit, so no qubit count): a dashed line, mean over seeds.
        control = frame[(frame["quantum.qubits"].isna()) & (frame["model.fusion"] == "classical")]
        control_keys = [k for k in inner
                        if k != "model.fusion" and k in control and control[k].notna().any()]
        for label, group in groups(control, control_keys):
            axis.axhline(group[metric].mean() * factor, linestyle="--", color="grey",
                         label=f"{label} (classical control)" if control_keys else
                         "classical control")
        if factor > 1:
            axis.set_ylim(None, min(100, axis.get_ylim()[1]))
        qubit_counts = sorted(hybrid["quantum.qubits"].dropna().unique())
        axis.set_xticks(qubit_counts, [str(int(q)) for q in qubit_counts])
        axis.set(title=f"{dataset}: {axis_label(metric)} against qubits\nmean ± std over seeds",
                 xlabel="qubits", ylabel=axis_label(metric))
        axis.legend(fontsize="small")
        axis.grid(alpha=0.3)
        save(figure, out_dir, f"qubits-{metric}-{dataset}.png", written)


def roc_points(scores, positives):
    """False and true positive rates at every threshold (ties handled as one step)."""
    order = np.argsort(-scores, kind="mergesort")
    scores, positives = scores[order], positives[order]
    distinct = np.r_[np.nonzero(np.diff(scores))[0], len(scores) - 1]
    true_positives = np.cumsum(positives)[distinct]
    false_positives = (distinct + 1) - true_positives
    tpr = np.r_[0, true_positives / max(1, positives.sum())]
    fpr = np.r_[0, false_positives / max(1, (1 - positives).sum())]
    return fpr, tpr


def plot_roc(runs, keys, out_dir, written):
    for dataset, frame in per_dataset(runs):
        inner = [k for k in keys if k != "dataset.name"]
        figure, axis = plt.subplots(figsize=(6.5, 6))
        drawn = 0
        lines = groups(frame, inner)
        for index, (label, group) in enumerate(lines):
            scores, positives = [], []
            for row in group.itertuples():
                try:
                    probabilities, labels = load_results.load_test_predictions(row.file, row.run_id)
                except KeyError:
                    continue
                probabilities = np.asarray(probabilities, dtype=float)
                if probabilities.ndim != 2 or len(labels) == 0:
                    continue
                if probabilities.shape[1] == 2:
                    scores.append(probabilities[:, 1])
                    positives.append(np.asarray(labels) == 1)
                else:  # micro-average: every (sample, class) pair is one binary decision
                    scores.append(probabilities.reshape(-1))
                    positives.append((np.arange(probabilities.shape[1]) == np.asarray(labels)[:, None]).reshape(-1))
            if not scores:
                continue
            fpr, tpr = roc_points(np.concatenate(scores), np.concatenate(positives).astype(float))
            area = np.trapz(tpr, fpr)
            color = plt.cm.tab20(index % 20) if len(lines) > 10 else f"C{index % 10}"
            axis.plot(fpr, tpr, color=color, label=f"{label} (AUC {area:.3f}, {len(scores)} seeds)")
            drawn += 1
        if drawn == 0:
            plt.close(figure)
            print(f"roc: skipped {dataset}, no stored test probabilities", file=sys.stderr)
            continue
        axis.plot([0, 1], [0, 1], ":", color="grey", label="chance")
        axis.set(title=f"{dataset}: ROC on the test set (seeds pooled)",
                 xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.01))
        axis.legend(fontsize="x-small", loc="lower right")
        axis.grid(alpha=0.3)
        save(figure, out_dir, f"roc-{dataset}.png", written)


def study_trials(path):
    """A study's trials as hqsweep's rule makes them (search/trial_outcome.h): the mean of the
    study metric over a trial's finished runs, pruned when a run of it was. Returns the search
    block and a DataFrame: trial, state, value, end (seconds since the first start), params."""
    with h5py.File(path, "r") as f:
        if "sweep" not in f or "text" not in f["sweep"]:
            raise BadInput(f"{path}: no sweep recorded")
        sweep = json.loads(load_results._text(f["sweep"]["text"][()]))
        if "search" not in sweep:
            raise BadInput(f"{path}: its sweep has no search block; --kind study needs a study's file")
        search = sweep["search"]
        metric = search["metric"]
        runs = []
        for run_id, group in f["runs"].items():
            a = group.attrs
            trial = int(a.get("trial", -1))
            if trial < 0:
                continue
            status = load_results._text(a["status"])
            metrics = ({n: float(group["metrics"][0][n]) for n in group["metrics"].dtype.names}
                       if "metrics" in group else {})
            curve = (list(group["curves"][metric]) if "curves" in group
                     and metric in group["curves"].dtype.names else [])
            runs.append({"run_id": run_id, "trial": trial, "status": status,
                         "value": metrics.get(metric, np.nan), "curve": curve,
                         "start": float(a["start_unix"]), "end": float(a["end_unix"]),
                         "config": flatten(json.loads(load_results._text(a["config"])))})
    if not runs:
        raise BadInput(f"{path}: the study has no trials yet")
    frame = pd.DataFrame(runs)
    start = frame.start.min()
    trials = []
    for number, group in frame.groupby("trial"):
        finished = group[group.status.isin(["done", "diverged", "pruned"])]
        ended = group.status.isin(["done", "diverged", "pruned", "failed", "timeout"]).all()
        values = finished.value.dropna()
        state = ("unfinished" if not ended else "failed" if values.empty
                 else "pruned" if (finished.status == "pruned").any() else "complete")
        row = {"trial": number, "state": state, "value": values.mean() if not values.empty else np.nan,
               "end": group.end.max() - start}
        row.update({key: group.config.iloc[0].get(key, np.nan) for key in search["space"]})
        trials.append(row)
    return search, pd.DataFrame(trials).sort_values("trial"), frame


def plot_study(path, out_dir, written):
    search, trials, runs = study_trials(path)
    metric, maximise = search["metric"], search.get("mode", "min" if search["metric"].endswith("_loss")
                                                     or search["metric"] == "probe_objective" else "max") == "max"
    stem = os.path.splitext(os.path.basename(path))[0]
    complete = trials[trials.state == "complete"]
    best = complete.value.cummax() if maximise else complete.value.cummin()
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, x, label in ((axes[0], "trial", "trial"), (axes[1], "end", "wall time (s)")):
        ax.scatter(complete[x], complete.value, s=12, label="complete trial")
        pruned = trials[trials.state == "pruned"]
        ax.scatter(pruned[x], pruned.value, s=12, marker="x", color="grey", label="pruned (its value when stopped)")
        ax.step(complete[x], best, where="post", color="C3", label="best so far")
        ax.set_xlabel(label)
        ax.set_ylabel(metric)
    axes[0].legend(fontsize=8)
    figure.suptitle(f"{stem}: optimisation history ({search.get('algorithm', 'tpe')})")
    save(figure, out_dir, f"{stem}_study_history.png", written)

    figure, ax = plt.subplots(figsize=(7, 4.5))
    for _, run in runs.iterrows():
        if not run.curve:
            continue
        epochs = np.arange(1, len(run.curve) + 1)
        pruned = run.status == "pruned"
        ax.plot(epochs, run.curve, color="grey" if pruned else "C0", alpha=0.5 if pruned else 0.8, lw=1)
        if pruned:
            ax.plot(epochs[-1], run.curve[-1], "x", color="C3", ms=5)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title(f"{stem}: intermediate values (grey with x: pruned)")
    save(figure, out_dir, f"{stem}_study_intermediate.png", written)

    keys = list(search["space"])
    usable = trials[trials.state.isin(["complete", "pruned"])].dropna(subset=["value"])
    encoded = pd.DataFrame(index=usable.index)
    for key in keys:
        column = usable[key]
        if "choice" in search["space"][key]:
            encoded[key] = column.map({v: i for i, v in enumerate(search["space"][key]["choice"])}).fillna(-1)
        else:
            numbers = pd.to_numeric(column, errors="coerce")
            encoded[key] = np.log(numbers) if "log" in next(iter(search["space"][key])) else numbers
            encoded[key] = encoded[key].fillna(encoded[key].min() - 1 if encoded[key].notna().any() else -1)
    try:
        from sklearn.ensemble import RandomForestRegressor
    except ImportError:
        RandomForestRegressor = None
    if RandomForestRegressor is not None and len(usable) >= 5:
        forest = RandomForestRegressor(n_estimators=200, random_state=0).fit(encoded.values, usable.value.values)
        order = np.argsort(forest.feature_importances_)
        figure, ax = plt.subplots(figsize=(7, 0.4 * len(keys) + 1.5))
        ax.barh([keys[i] for i in order], forest.feature_importances_[order])
        ax.set_xlabel(f"importance for {metric} (random forest, impurity)")
        ax.set_title(f"{stem}: parameter importances ({len(usable)} trials)")
        save(figure, out_dir, f"{stem}_study_importance.png", written)
    else:
        print("plot.py: parameter importances need python3-sklearn and 5 trials; skipped", file=sys.stderr)

    if len(usable) >= 2:
        span = (encoded.max() - encoded.min()).replace(0, 1)
        scaled = (encoded - encoded.min()) / span
        figure, ax = plt.subplots(figsize=(max(6, 1.3 * len(keys)), 4.5))
        values = usable.value.values
        colours = plt.cm.viridis((values - values.min()) / max(values.max() - values.min(), 1e-12))
        for i, (_, row) in enumerate(scaled.iterrows()):
            ax.plot(range(len(keys)), row.values, color=colours[i], alpha=0.7, lw=1)
        ax.set_xticks(range(len(keys)))
        ax.set_xticklabels(keys, rotation=20, fontsize=8)
        ax.set_ylabel("scaled value (log scale where the space has one; choices by index)")
        ax.set_title(f"{stem}: parallel coordinates, colour = {metric} (yellow: high)")
        save(figure, out_dir, f"{stem}_study_parallel.png", written)


def main(argv):
    parser = argparse.ArgumentParser(description="Figures from hqsweep results files.")
    parser.add_argument("results", nargs="+", help="results files (HDF5); shards are read as one")
    parser.add_argument("--out", required=True, help="directory for the PNG files (created)")
    parser.add_argument("--kind", default="all", choices=("all",) + KINDS + (STUDY_KIND,))
    parser.add_argument("--metric", default="test_acc",
                        help="metric of bars and qubits, e.g. test_acc, test_auc, test_f1, or a "
                             "program's own metric; of curves, a curve to draw beside the losses")
    args = parser.parse_args(argv[1:])
    try:
        if args.kind == STUDY_KIND:
            os.makedirs(args.out, exist_ok=True)
            written = []
            for path in args.results:
                if not os.path.exists(path):
                    raise BadInput(f"{path}: no such results file")
                plot_study(path, args.out, written)
            for path in written:
                print(path)
            return 0
        runs = load_runs(args.results, args.metric)
        if args.metric not in runs and args.kind != "curves":
            available = ", ".join(c for c in runs.columns if c.startswith(("val_", "test_")))
            raise BadInput(f"--metric: no column '{args.metric}' in the index (available: {available})")
        keys = varying_keys(runs)
        os.makedirs(args.out, exist_ok=True)
        written = []
        kinds = KINDS if args.kind == "all" else (args.kind,)
        if "curves" in kinds:
            plot_curves(runs, keys, args.metric, args.out, written)
        if "bars" in kinds:
            plot_bars(runs, keys, args.metric, args.out, written)
        if "qubits" in kinds:
            plot_qubits(runs, keys, args.metric, args.out, written)
        if "roc" in kinds:
            plot_roc(runs, keys, args.out, written)
    except BadInput as error:
        print(f"plot.py: error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
