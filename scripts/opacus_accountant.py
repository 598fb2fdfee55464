#!/usr/bin/env python3
"""Opacus's accountants timed on exactly the cases of dpmpi's accountant benchmarks.

Usage (scripts/bench.sh accountant runs it; Opacus 1.4 must be importable):

    PYTHONPATH=$bench/opacus14:$bench/stubs:$bench OMP_NUM_THREADS=1 \
        python3 scripts/opacus_accountant.py [--seconds 2] [--min-repeats 3] \
        [--only NAME,...] [--dpmpi-curve CURVE.csv]

The cases, one per Benchmark function in accountant/bench_test.go (same names,
without the "Benchmark" prefix), all at delta = 1e-5 with Opacus's defaults
(RDPAccountant.DEFAULT_ALPHAS, PRV eps_error 0.01 and delta_error delta/1000,
which dpmpi's zero values also use):

  RDPEpsilon             RDPAccountant, history [(sigma 1, q 0.01, 10000 steps)], get_epsilon
  PRVEpsilon             PRVAccountant, same history, get_epsilon (the upper bound)
  PRVEpsilonTwoSegments  PRVAccountant, history [(1, 0.01, 500), (2, 0.02, 300)], get_epsilon
  CalibrateRDP           opacus.accountants.utils.get_noise_multiplier(target_epsilon=2,
                         target_delta=1e-5, sample_rate=0.01, steps=10000, accountant="rdp")
  RDPCurve100k           epsilon after every step 1..100000 of (1, 0.01): Opacus has no curve
                         function, so it gets dpmpi's incremental algorithm through its public
                         analysis API: compute_rdp(steps=1) once, then get_privacy_spent on
                         rdp * k for every k (compute_rdp(steps=k) is exactly that product,
                         so each point is the value RDPAccountant.get_epsilon gives after k
                         steps, bit for bit, without recomputing the per-step RDP 100000 times)

Each case runs once as a warm-up, then is timed with time.perf_counter until the
repeats add up to --seconds (at least --min-repeats); the median is reported.
One line per case:

    opacus-accountant NAME ms MEDIAN eps EPSILON n REPEATS [extra fields]

CalibrateRDP adds "sigma S" (eps is then RDP epsilon at that sigma, computed
outside the timing); RDPCurve100k's eps is the last point's and, with
--dpmpi-curve (the CSV of `dpaccount curve --every 1`: step,epoch,epsilon,alpha),
it adds "curve_points N curve_differ K curve_max_abs_diff D": every point
compared with dpmpi's.

The accountants are single-threaded Python/NumPy/SciPy code (scipy.fft runs
with workers=1 by default), so OMP_NUM_THREADS=1 takes nothing from them.
"""
import argparse
import csv
import math
import statistics
import sys
import time
import warnings

DELTA = 1e-5


def timed(fn, seconds, min_repeats, max_repeats=100000):
    """Runs fn once as a warm-up, then repeats it until the repeats add up to
    seconds (and at least min_repeats); returns (median seconds, repeats, value)."""
    value = fn()
    times = []
    total = 0.0
    while len(times) < min_repeats or (total < seconds and len(times) < max_repeats):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        times.append(dt)
        total += dt
    return statistics.median(times), len(times), value


def read_curve(path):
    """Returns {step: epsilon} from a dpaccount curve CSV."""
    with open(path, newline="") as f:
        return {int(r["step"]): float(r["epsilon"]) for r in csv.DictReader(f)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="timed repeats per case add up to this (default 2)")
    ap.add_argument("--min-repeats", type=int, default=3, help="at least this many timed repeats (default 3)")
    ap.add_argument("--only", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--dpmpi-curve", default="", help="dpaccount curve --every 1 CSV to compare RDPCurve100k with")
    args = ap.parse_args()

    try:
        import opacus
        from opacus.accountants import PRVAccountant, RDPAccountant
        from opacus.accountants.analysis import rdp as rdp_analysis
        from opacus.accountants.utils import get_noise_multiplier
    except ImportError as e:
        sys.exit(f"opacus_accountant.py: cannot import Opacus ({e}); install the peer with `bash ../shared/peers/opacus.sh setup` "
                 "and put opacus-bench/opacus14, opacus-bench/stubs and opacus-bench on PYTHONPATH")
    import numpy as np
    import scipy

    # get_privacy_spent warns when the best order is the first or last one;
    # the warning is Opacus's own cost either way, but keep stderr readable.
    warnings.simplefilter("ignore")

    alphas = RDPAccountant.DEFAULT_ALPHAS

    def epsilon(acc_cls, history):
        def run():
            acc = acc_cls()
            acc.history = list(history)
            return acc.get_epsilon(delta=DELTA)
        return run

    def calibrate():
        return get_noise_multiplier(target_epsilon=2.0, target_delta=DELTA, sample_rate=0.01, steps=10000, accountant="rdp")

    curve_steps = 100000

    def curve():
        per = rdp_analysis.compute_rdp(q=0.01, noise_multiplier=1.0, steps=1, orders=alphas)
        return [rdp_analysis.get_privacy_spent(orders=alphas, rdp=per * k, delta=DELTA)[0] for k in range(1, curve_steps + 1)]

    cases = [
        ("RDPEpsilon", epsilon(RDPAccountant, [(1.0, 0.01, 10000)])),
        ("PRVEpsilon", epsilon(PRVAccountant, [(1.0, 0.01, 10000)])),
        ("PRVEpsilonTwoSegments", epsilon(PRVAccountant, [(1.0, 0.01, 500), (2.0, 0.02, 300)])),
        ("CalibrateRDP", calibrate),
        ("RDPCurve100k", curve),
    ]
    only = {s for s in args.only.split(",") if s}
    unknown = only - {name for name, _ in cases}
    if unknown:
        sys.exit(f"opacus_accountant.py: unknown case(s) {', '.join(sorted(unknown))}")

    print(f"# opacus {opacus.__version__} ({opacus.__file__}), numpy {np.__version__}, scipy {scipy.__version__}, "
          f"python {sys.version.split()[0]}; median of repeats adding up to {args.seconds:g} s (at least {args.min_repeats}), after one warm-up",
          flush=True)
    for name, fn in cases:
        if only and name not in only:
            continue
        med, n, value = timed(fn, args.seconds, args.min_repeats)
        extra = ""
        if name == "CalibrateRDP":
            sigma = value
            acc = RDPAccountant()
            acc.history = [(sigma, 0.01, 10000)]
            eps = acc.get_epsilon(delta=DELTA)
            extra = f" sigma {sigma!r}"
        elif name == "RDPCurve100k":
            eps = value[-1]
            if args.dpmpi_curve:
                ref = read_curve(args.dpmpi_curve)
                differ, worst = 0, 0.0
                for k, e in enumerate(value, 1):
                    r = ref.get(k, math.nan)
                    if r != e:
                        differ += 1
                        worst = max(worst, abs(r - e)) if not math.isnan(r) else math.inf
                extra = f" curve_points {len(value)} curve_differ {differ} curve_max_abs_diff {worst!r}"
        else:
            eps = value
        print(f"opacus-accountant {name} ms {med * 1e3:.3f} eps {float(eps)!r} n {n}{extra}", flush=True)


if __name__ == "__main__":
    main()
