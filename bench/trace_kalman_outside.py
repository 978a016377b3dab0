#!/usr/bin/env python3
"""The AR(1)+noise Kalman log-likelihood of fixtures/models/nino12_ar1_kalman.scm (stationary
start) on the 600 training months of fixtures/data/nino12_anomalies.csv, timed outside dmci:
statsmodels' SARIMAX.loglike (Cython filter, value only) and PyTorch float64 eager autograd of
the same filter written as the Scheme program writes it (value + gradient). Prints µs per call
(median of rounds) and the values, so bench/trace_ratios.ts's table can be put beside them.
Each reference that is not installed is reported and skipped (Debian: python3-statsmodels,
python3-torch with liblapack3).

Run: /usr/bin/python3 bench/trace_kalman_outside.py [--rounds N]
"""
import csv
import math
import os
import statistics
import sys
import time

THETA = (0.9, 0.2, 0.1)  # phi, q, r: the θ bench/trace_cases.ts uses
rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 7

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "..", "fixtures", "data", "nino12_anomalies.csv")) as f:
    ys = [float(r["anomaly"]) for r in csv.DictReader(f) if int(r["year"]) < 2000]


def per_call_us(fn, min_seconds=0.2):
    n, samples = 1, []
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_seconds / 5:
            break
        n *= 2
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(samples)


print(f"AR(1)+noise Kalman log-likelihood, {len(ys)} months, theta = {THETA}")
try:
    import numpy as np
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    model = SARIMAX(np.array(ys), order=(1, 0, 0), trend="n", measurement_error=True)
    phi, q, r = THETA
    params = np.array([phi, r, q])  # ar.L1, var.measurement_error, sigma2
    value = model.loglike(params)
    us = per_call_us(lambda: model.loglike(params))
    print(f"statsmodels SARIMAX.loglike (value only): {us:.1f} us, loglik {value:.10f}")
except ImportError as e:
    print(f"statsmodels: not installed ({e}); apt-get install python3-statsmodels")

try:
    import torch

    torch.set_num_threads(1)
    y = torch.tensor(ys, dtype=torch.float64)

    def loglik(phi, q, r):
        m, p, ll = torch.zeros((), dtype=torch.float64), q / (1 - phi * phi), torch.zeros((), dtype=torch.float64)
        for t in range(y.shape[0]):
            s = p + r
            e = y[t] - m
            gain = p / s
            m = phi * (m + gain * e)
            p = phi * phi * ((1 - gain) * p) + q
            ll = ll - 0.5 * (torch.log(2 * math.pi * s) + e * e / s)
        return ll

    def value_and_grad():
        th = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in THETA]
        v = loglik(*th)
        v.backward()
        return v.item(), [t.grad.item() for t in th]

    v, g = value_and_grad()
    us = per_call_us(value_and_grad)
    print(f"PyTorch {torch.__version__} float64 eager autograd (value+gradient): {us:.0f} us, "
          f"loglik {v:.10f}, grad {[round(x, 6) for x in g]}")
except ImportError as e:
    print(f"PyTorch: not installed ({e}); apt-get install python3-torch liblapack3")
