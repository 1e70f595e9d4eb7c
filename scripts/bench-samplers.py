#!/usr/bin/env python3
"""hqsweep's samplers beside Optuna's on analytic functions, in one run (docs/benchmarks.md).

Usage: bench-samplers.py SAMPLER_BENCH [--seeds 20] [--trials 100]
SAMPLER_BENCH is build/bench/sampler_bench (hqsweep's proposals through the study code path).
Prints a Markdown table: the median over study seeds of the best value after 25, 50 and 100
trials (all functions are minimised), for hqsweep TPE (the default, multivariate, and
univariate) and random, Optuna TPE (default and multivariate) and Optuna random. Needs Debian's python3-optuna (run it with /usr/bin/python3).
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples",
                                "programs"))
import objective  # noqa: E402  (the same functions as the program task examples/programs/objective.py)


def optuna_objective(function):
    def run(trial):
        point = {}
        for name, (kind, *bounds) in objective.SPACES[function].items():
            if kind == "float":
                point[name] = trial.suggest_float(name, *bounds)
            elif kind == "int":
                point[name] = trial.suggest_int(name, *bounds)
            else:
                point[name] = trial.suggest_categorical(name, bounds[0])
        return objective.evaluate(function, point)
    return run


FUNCTIONS = {name: optuna_objective(name) for name in objective.SPACES}


def optuna_curves(function, make_sampler, seeds, trials):
    curves = []
    for seed in range(seeds):
        study = optuna.create_study(sampler=make_sampler(seed))
        study.optimize(function, n_trials=trials)
        best, curve = math.inf, []
        for trial in study.trials:
            best = min(best, trial.value)
            curve.append(best)
        curves.append(curve)
    return curves


def hqsweep_curves(bench, function, algorithm, seeds, trials):
    out = subprocess.run([bench, function, algorithm, str(trials), str(seeds)], check=True,
                         capture_output=True, text=True).stdout
    return [json.loads(line)["best"] for line in out.splitlines()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--trials", type=int, default=100)
    args = parser.parse_args()
    checkpoints = [k for k in (25, 50, 100) if k <= args.trials]
    samplers = {
        "hqsweep TPE": lambda f: hqsweep_curves(args.bench, f, "tpe", args.seeds, args.trials),
        "hqsweep TPE univariate": lambda f: hqsweep_curves(args.bench, f, "tpe-univariate",
                                                           args.seeds, args.trials),
        "hqsweep random": lambda f: hqsweep_curves(args.bench, f, "random", args.seeds, args.trials),
        "Optuna TPE": lambda f: optuna_curves(FUNCTIONS[f], lambda s: optuna.samplers.TPESampler(seed=s),
                                              args.seeds, args.trials),
        "Optuna TPE multivariate": lambda f: optuna_curves(
            FUNCTIONS[f], lambda s: optuna.samplers.TPESampler(seed=s, multivariate=True),
            args.seeds, args.trials),
        "Optuna random": lambda f: optuna_curves(FUNCTIONS[f], lambda s: optuna.samplers.RandomSampler(seed=s),
                                                 args.seeds, args.trials),
    }
    print(f"Median best value over {args.seeds} study seeds (minimised; lower is better), "
          f"Optuna {optuna.__version__}\n")
    print("| function | sampler | " + " | ".join(f"after {k}" for k in checkpoints) + " |")
    print("|---|---|" + "---|" * len(checkpoints))
    for function in FUNCTIONS:
        for name, run in samplers.items():
            curves = run(function)
            cells = [f"{statistics.median(c[k - 1] for c in curves):.4g}" for k in checkpoints]
            print(f"| {function} | {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
