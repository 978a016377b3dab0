#!/usr/bin/env python3
"""Outside reference for `bench enso`'s single-series models: AR(1) and AR(2) plus measurement
error, fitted by statsmodels' SARIMAX (its own Kalman filter and optimiser; measurement_error=True,
no trend, exact stationary initialisation of the state) to the training anomalies in the CSV
given as the argument (one column `anomaly`, written by bench/enso_statsmodels.ts from the same
data the benchmark fits). Prints one JSON document: per model the maximum log-likelihood and the
parameters, from the best of several starts.

Run: /usr/bin/python3 bench/enso_statsmodels.py ANOMALIES.csv   (Debian's python3-statsmodels)
"""
import csv
import json
import sys

try:
    import numpy as np
    from statsmodels.tsa.statespace.sarimax import SARIMAX
except ImportError as e:  # say so and stop: a reference script, not part of the suite
    sys.exit(f"statsmodels is not installed ({e}); apt-get install python3-statsmodels and run with /usr/bin/python3")

if len(sys.argv) != 2:
    sys.exit("usage: enso_statsmodels.py ANOMALIES.csv")
with open(sys.argv[1]) as f:
    y = np.array([float(r["anomaly"]) for r in csv.DictReader(f)])

# Starts in statsmodels' parameter order: AR coefficients, measurement variance, state variance.
STARTS = {
    1: ([0.5, 0.3, 0.3], [0.9, 0.01, 0.2], [0.9, 1e-6, 0.18], [0.3, 0.5, 0.05]),
    2: ([0.5, 0.0, 0.3, 0.3], [1.2, -0.3, 0.01, 0.2], [0.9, 0.0, 1e-4, 0.2], [0.3, 0.3, 0.5, 0.05]),
}

out = {"rows": len(y), "statsmodels": __import__("statsmodels").__version__}
for order in (1, 2):
    model = SARIMAX(y, order=(order, 0, 0), trend="n", measurement_error=True, initialization="stationary")
    best = None
    for start in STARTS[order]:
        for method in ("lbfgs", "nm"):
            try:
                r = model.fit(start_params=start, disp=False, method=method, maxiter=5000)
            except Exception:  # a start the optimiser cannot leave; the others remain
                continue
            if best is None or r.llf > best.llf:
                best = r
    # Polish the best with L-BFGS from where it ended.
    r = model.fit(start_params=best.params, disp=False, method="lbfgs", maxiter=5000)
    if r.llf > best.llf:
        best = r
    names = list(model.param_names)
    params = {n: float(best.params[names.index(n)]) for n in names}
    out[f"ar{order}"] = {"loglik": float(best.llf), "params": params}
print(json.dumps(out))
