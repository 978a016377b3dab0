#!/usr/bin/env python3
"""The El Niño latent-VAR likelihood of `bench enso` (fixtures/enso/kalman.scm with the block of
lib/domains/enso/models.ts) written in PyTorch float64: A = U L^-1 with L L^T = I + U U^T, Q = I,
R = diag(exp(log r)), stationary start by doubling, Joseph-form covariance update, log det and
solves through Cholesky. Times one value+gradient (autograd) and one forward evaluation for
n = 5, 10, 20, 40 on the seven standardised Pacific indices (training years 1978-2009): the
PyTorch column beside bench/enso_scaling.ts.

Run: /usr/bin/python3 bench/enso_scaling_torch.py [THETA.json]
  THETA.json (from `bench/enso_scaling.ts --theta-out THETA.json`): our θ and log-likelihood per
  n; the script then evaluates at the same θ and prints the difference.
Needs Debian's python3-torch; says so and stops where it is missing.
"""
import csv
import json
import math
import os
import statistics
import sys
import time

try:
    import torch
except ImportError as e:
    sys.exit(f"PyTorch is not installed ({e}); apt-get install python3-torch and run with /usr/bin/python3")

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)
here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "..", "..", "shared", "data", "enso", "pacific_indices_1978_2020.csv")
with open(path) as f:
    rows = [r for r in csv.DictReader(f)]
names = [k for k in rows[0].keys() if k not in ("year", "month")]
train = [[float(r[k]) for k in names] for r in rows if 1978 <= int(r["year"]) <= 2009]
Y = torch.tensor(train)
Y = (Y - Y.mean(0)) / Y.std(0, unbiased=True)
T, p = Y.shape
LOG_2PI = math.log(2 * math.pi)


def loglik(theta, n):
    U = theta[: n * n].reshape(n, n)
    C = theta[n * n : n * n + p * n].reshape(p, n)
    R = torch.diag(torch.exp(theta[n * n + p * n :]))
    I = torch.eye(n)
    L = torch.linalg.cholesky(I + U @ U.T)
    A = torch.linalg.solve_triangular(L.T, U.T, upper=True).T  # U L^-1
    Q = I
    Ak, P = A, Q
    for _ in range(64):  # doubling, as kalman.scm
        if float((Ak * Ak).sum()) < 1e-24:
            break
        P = P + Ak @ P @ Ak.T
        Ak = Ak @ Ak
    P = 0.5 * (P + P.T)
    m = torch.zeros(n)
    ll = torch.zeros(())
    Ip = torch.eye(n)
    for t in range(T):
        y = Y[t]
        e = y - C @ m
        PCt = P @ C.T
        S = C @ PCt + R
        S = 0.5 * (S + S.T)
        Ls = torch.linalg.cholesky(S)
        K = torch.cholesky_solve(PCt.T, Ls).T
        Se = torch.cholesky_solve(e.unsqueeze(1), Ls).squeeze(1)
        ll = ll - 0.5 * (p * LOG_2PI + 2 * torch.log(torch.diagonal(Ls)).sum() + e @ Se)
        IKC = Ip - K @ C
        m = A @ (m + K @ e)
        Pf = IKC @ P @ IKC.T + K @ R @ K.T
        APA = A @ Pf @ A.T
        P = 0.5 * (APA + APA.T) + Q
    return ll


def start(n, seed):
    g = torch.Generator().manual_seed(seed)
    U = torch.eye(n) + 0.1 * torch.randn(n, n, generator=g)
    C = 0.1 * torch.randn(p, n, generator=g)
    return torch.cat([U.flatten(), C.flatten(), torch.full((p,), math.log(0.5))])


ours = {}
if len(sys.argv) > 1:
    with open(sys.argv[1]) as f:
        ours = json.load(f)

print(f"PyTorch {torch.__version__} float64, 1 thread; latent VAR(1) on {p} Pacific indices, {T} training months; medians of 5 (3 at n >= 40)")
print(f"{'n':>4}{'params':>8}{'torch v+g ms':>15}{'torch fwd ms':>15}{'loglik':>16}{'|ours - torch|':>16}")
for n in [int(s) for s in os.environ.get("DIMS", "5,10,20,40").split(",")]:
    base = torch.tensor(ours[str(n)]["theta"]) if str(n) in ours else start(n, n)
    reps = 3 if n >= 40 else 5
    vg, fw = [], []
    value = None
    for k in range(reps + 1):  # the first is a warm-up
        theta = base.clone().requires_grad_(True)
        t0 = time.perf_counter()
        v = loglik(theta, n)
        v.backward()
        t1 = time.perf_counter()
        with torch.no_grad():
            loglik(base, n)
        t2 = time.perf_counter()
        if k > 0:
            vg.append(1000 * (t1 - t0))
            fw.append(1000 * (t2 - t1))
        value = float(v)
    diff = f"{abs(value - ours[str(n)]['loglik']):.2e}" if str(n) in ours else "-"
    print(f"{n:>4}{base.numel():>8}{statistics.median(vg):>15.1f}{statistics.median(fw):>15.1f}{value:>16.6f}{diff:>16}")
