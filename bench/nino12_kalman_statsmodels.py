#!/usr/bin/env python3
"""Outside reference for fixtures/specs/nino12_ar1_kalman.json: the same model (AR(1) state plus
Gaussian observation noise, stationary start), fitted by statsmodels' SARIMAX (its own Kalman
filter and optimiser) on the same training rows (1950-1999 of fixtures/data/nino12_anomalies.csv).
Prints the MLE and log-likelihood that tests/fit_program_test.ts checks dmci against.

Run: /usr/bin/python3 bench/nino12_kalman_statsmodels.py   (Debian's python3-statsmodels)
"""
import csv
import os
import sys

try:
    import numpy as np
    from statsmodels.tsa.statespace.sarimax import SARIMAX
except ImportError as e:  # say so and stop: this is a reference script, not part of the suite
    sys.exit(f"statsmodels is not installed ({e}); apt-get install python3-statsmodels and run with /usr/bin/python3")

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "..", "fixtures", "data", "nino12_anomalies.csv")) as f:
    y = np.array([float(r["anomaly"]) for r in csv.DictReader(f) if int(r["year"]) < 2000])

model = SARIMAX(y, order=(1, 0, 0), trend="n", measurement_error=True)
best = None
# Several starts: the measurement variance's MLE is at (or near) its boundary 0.
for start in ([0.5, 0.3, 0.3], [0.9, 0.01, 0.2], [0.9, 1e-6, 0.18]):  # [phi, r, q]
    r = model.fit(start_params=start, disp=False, method="lbfgs", maxiter=2000)
    if best is None or r.llf > best.llf:
        best = r
names = list(model.param_names)  # ar.L1, var.measurement_error, sigma2 (the state noise q)
phi, r_meas, q = (best.params[names.index(n)] for n in ("ar.L1", "var.measurement_error", "sigma2"))
print(f"rows {len(y)}")
print(f"statsmodels SARIMAX AR(1)+measurement error: loglik {best.llf:.6f}  phi {phi:.6f}  q {q:.6f}  r {r_meas:.3e}")
# Exact AR(1) (r = 0) for comparison: the likelihood at the boundary.
ar = SARIMAX(y, order=(1, 0, 0), trend="n").fit(disp=False)
print(f"statsmodels SARIMAX AR(1), r = 0:             loglik {ar.llf:.6f}  phi {ar.params[0]:.6f}  q {ar.params[1]:.6f}")
