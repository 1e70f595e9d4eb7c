#!/usr/bin/env python3
"""hqsweep's samplers beside Optuna's on analytic functions, in one run (docs/benchmarks.md).

Usage: bench-samplers.py SAMPLER_BENCH [--seeds 20] [--trials 100]
SAMPLER_BENCH is build/bench/sampler_bench (hqsweep's proposals through the study code path).
Prints a Markdown table: the median over study seeds of the best value after 25, 50 and 100
trials (all functions are minimised), for hqsweep TPE and random, Optuna TPE (default and
multivariate) and Optuna random. Needs Debian's python3-optuna (run it with /usr/bin/python3).
"""
import argparse
import json
import math
import statistics
import subprocess

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)

HARTMANN_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
              [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
HARTMANN_P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
              [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2]


def branin(t):
    x, y = t.suggest_float("x0", -5, 10), t.suggest_float("x1", 0, 15)
    b, c, s = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x * x + c * x - 6) ** 2 + 10 * (1 - s) * math.cos(x) + 10


def hartmann6(t):
    x = [t.suggest_float(f"x{i}", 0, 1) for i in range(6)]
    return -sum(HARTMANN_ALPHA[i] * math.exp(-sum(HARTMANN_A[i][j] * (x[j] - HARTMANN_P[i][j] * 1e-4) ** 2
                                                 for j in range(6))) for i in range(4))


def rosenbrock10(t):
    x = [t.suggest_float(f"x{i}", -5, 10) for i in range(10)]
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(9))


def mixed(t):
    x, n = t.suggest_float("x", 0, 1), t.suggest_int("n", 0, 20)
    c = t.suggest_categorical("c", ["a", "b", "c", "d"])
    return (x - 0.3) ** 2 * 10 + (n - 7) ** 2 / 10 + {"a": 0.5, "b": 0.0, "c": 1.0, "d": 2.0}[c]


FUNCTIONS = {"branin": branin, "hartmann6": hartmann6, "rosenbrock10": rosenbrock10, "mixed": mixed}


def optuna_curves(objective, make_sampler, seeds, trials):
    curves = []
    for seed in range(seeds):
        study = optuna.create_study(sampler=make_sampler(seed))
        study.optimize(objective, n_trials=trials)
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
        "hqsweep TPE multivariate": lambda f: hqsweep_curves(args.bench, f, "tpe-multivariate",
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
