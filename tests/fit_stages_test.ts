// The stages of a fit (lib/fit/problem.ts, objective.ts, restarts.ts, uncertainty.ts,
// metrics.ts): gradients against float64 central differences, the batched objective against
// the one-point objective, warm starts, scoring on other rows, and standard errors against
// closed forms: OLS σ̂²(XᵀX)⁻¹ for an mse fit, and the Gaussian MLE's observed information
// (β: σ̂²(XᵀX)⁻¹, σ: σ̂/√(2n), with σ̂² = SSE/n) for gaussian-nll, both to 1e-6.
import assert from "node:assert/strict";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { backendByName } from "../lib/backend/select.ts";
import type { Backend } from "../lib/backend/backend.ts";
import { loadProgram } from "../lib/program.ts";
import { tableFromColumns } from "../lib/fit/data.ts";
import { type FitProblem, fitProblem, initialU, type ModelSpec, thetaOf, uOf } from "../lib/fit/problem.ts";
import { batchObjectiveOn, lossAt, objectiveOn, predict } from "../lib/fit/objective.ts";
import { calibrate, restartStarts } from "../lib/fit/restarts.ts";
import { fittedParams, standardErrors } from "../lib/fit/uncertainty.ts";
import { logLikelihood, splitMetrics } from "../lib/fit/metrics.ts";
import { specFromData } from "../lib/fit/spec.ts";
import { fitSpec } from "../lib/fit/fit.ts";

// A line y = a + b·x on 30 rows with deterministic, uncorrelated-looking noise.
const N = 30;
const X = Array.from({ length: N }, (_, i) => i / 3);
const Y = X.map((x, i) => 1.2 + 0.7 * x + 0.3 * Math.sin(7.3 * i * i + 1.1));
const LINE = "(define a 0.5) (define b 1.5) (+ a (* b x))";
const ALL = Array.from({ length: N }, (_, i) => i);

function lineProblem(loss: ModelSpec["loss"], backend: Backend = f64Backend): FitProblem {
  return fitProblem({
    backend,
    program: loadProgram(LINE, "line.scm"),
    table: tableFromColumns({ x: X, y: Y }, ["x", "y"], "error"),
    spec: { params: {}, inputs: { x: "x" }, target: "y", loss },
  });
}

/** OLS by the normal equations: β, SSE, and (XᵀX)⁻¹ for X = [1, x]. */
function ols() {
  const n = N, sx = X.reduce((s, v) => s + v, 0), sxx = X.reduce((s, v) => s + v * v, 0);
  const sy = Y.reduce((s, v) => s + v, 0), sxy = X.reduce((s, v, i) => s + v * Y[i], 0);
  const det = n * sxx - sx * sx;
  const inv = [sxx / det, -sx / det, -sx / det, n / det];
  const beta = [inv[0] * sy + inv[1] * sxy, inv[2] * sy + inv[3] * sxy];
  const sse = Y.reduce((s, y, i) => s + (y - beta[0] - beta[1] * X[i]) ** 2, 0);
  return { beta, sse, inv };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

Deno.test("standard errors of an mse fit are OLS's σ̂²(XᵀX)⁻¹ with σ̂² = SSE/(n−p), to 1e-6", async () => {
  const { beta, sse, inv } = ols();
  const s2 = sse / (N - 2);
  const want = [Math.sqrt(s2 * inv[0]), Math.sqrt(s2 * inv[3])];
  // The stage at the exact optimum …
  const p = lineProblem({ kind: "mse" });
  const se = standardErrors(p, ALL, Float64Array.from(beta));
  want.forEach((w, j) => assert.ok(rel(se.seU![j], w) < 1e-6, `se[${j}] ${se.seU![j]} vs ${w}`));
  // … and the whole fit.
  const r = await fitSpec(
    specFromData({
      name: "line",
      program: { text: LINE },
      inputs: { x: "x" },
      target: "y",
      data: { columns: { x: X, y: Y } },
      optimizer: { tolerance: 1e-14 },
      backend: "f64",
    }, "line"),
    { plot: false },
  );
  r.params.forEach((q, j) => {
    assert.ok(rel(q.value, beta[j]) < 1e-9, `${q.name} ${q.value} vs OLS ${beta[j]}`);
    assert.ok(rel(q.se!, want[j]) < 1e-6, `${q.name}: se ${q.se} vs ${want[j]}`);
  });
  // mse's log-likelihood is the Gaussian one at σ̂² = SSE/n.
  assert.ok(rel(r.log_likelihood!, -(N / 2) * (Math.log(2 * Math.PI * sse / N) + 1)) < 1e-10);
});

Deno.test("standard errors of a gaussian-nll fit are the Gaussian MLE's, σ included, to 1e-6", () => {
  const { beta, sse, inv } = ols();
  const sigma = Math.sqrt(sse / N); // the MLE of σ
  const p = lineProblem({ kind: "gaussian-nll" });
  const uHat = uOf(p, [...beta, sigma]);
  const se = standardErrors(p, ALL, uHat);
  const params = fittedParams(p, uHat, initialU(p, ALL), se.seU);
  const want = [Math.sqrt(sigma ** 2 * inv[0]), Math.sqrt(sigma ** 2 * inv[3]), sigma / Math.sqrt(2 * N)];
  assert.deepEqual(params.map((q) => q.name), ["a", "b", "sigma"]);
  params.forEach((q, j) => assert.ok(rel(q.se!, want[j]) < 1e-6, `${q.name}: se ${q.se} vs ${want[j]}`));
  // And the fit from the inits lands on the MLE.
  const c = calibrate(p, ALL, [initialU(p, ALL)], { method: "lbfgs", steps: 500, tolerance: 1e-14 });
  thetaOf(p, c.runs[0].x).forEach((v, j) => assert.ok(rel(v, [...beta, sigma][j]) < 1e-7, `θ${j} ${v}`));
  const m = splitMetrics(p, ALL, c.runs[0].x);
  assert.ok(
    rel(logLikelihood(p, m)!, -(N * Math.log(sigma) + N / 2 + (N / 2) * Math.log(2 * Math.PI))) < 1e-10,
  );
});

Deno.test("objectiveOn: the gradient in u matches float64 central differences, through the transforms", () => {
  const p = fitProblem({
    backend: f64Backend,
    program: loadProgram("(define A 1.5) (define k 0.3) (* A (exp (- (* k x))))", "decay.scm"),
    table: tableFromColumns({ x: X, y: Y }, ["x", "y"], "error"),
    spec: {
      params: {
        A: { transform: "positive", fixed: false },
        k: { transform: "bounded", lower: 0, upper: 2, fixed: false },
      },
      inputs: { x: "x" },
      target: "y",
      loss: { kind: "gaussian-nll" },
    },
  });
  for (const profiled of [false, true]) {
    const f = objectiveOn(p, ALL, { profiled });
    const u = Float64Array.of(0.2, -0.4, -1);
    const g = f(u).grad;
    for (let j = 0; j < 3; j++) {
      const h = 1e-6, up = u.slice(), dn = u.slice();
      up[j] += h, dn[j] -= h;
      const fd = (f(up).value - f(dn).value) / (2 * h);
      assert.ok(Math.abs(fd - g[j]) <= 1e-6 * Math.max(1, Math.abs(fd)), `u${j}: ${g[j]} vs ${fd}`);
    }
  }
});

Deno.test("batchObjectiveOn: each point's value and gradient are the one-point objective's", () => {
  const p = lineProblem({ kind: "gaussian-nll" });
  const points = [Float64Array.of(0.1, 0.2, 0), Float64Array.of(1, 0.7, -1), Float64Array.of(-2, 3, 0.5)];
  const one = objectiveOn(p, ALL, { profiled: true });
  const b = batchObjectiveOn(p, ALL, 3)(Float64Array.from(points.flatMap((u) => [...u])));
  points.forEach((u, r) => {
    const e = one(u);
    assert.ok(Math.abs(b.values[r] - e.value) <= 1e-12 * Math.abs(e.value), `point ${r}`);
    e.grad.forEach((g, j) => assert.ok(Math.abs(b.grads[r * 3 + j] - g) <= 1e-10 * Math.max(1, Math.abs(g))));
  });
});

Deno.test("calibrate: batched restarts on f64 take each restart's path, one valueAndGrad per round", () => {
  let calls = 0;
  const counting: Backend = {
    ...f64Backend,
    valueAndGrad: (f, t) => (calls++, f64Backend.valueAndGrad(f, t)),
    stage: (f, o) => {
      const s = f64Backend.stage(f, o);
      return { ...s, valueAndGrad: (t, d) => (calls++, s.valueAndGrad(t, d)) };
    },
  };
  const p = lineProblem({ kind: "mse" }, counting);
  const starts = restartStarts(p, initialU(p, ALL), 3, 1);
  const o = { method: "lbfgs" as const, steps: 200, tolerance: 1e-12 };
  calls = 0;
  const batched = calibrate(p, ALL, starts, { ...o, batch: "always" });
  assert.equal(calls, 1 + batched.rounds!, "the start check, then one call per round");
  const total = batched.runs.reduce((a, r) => a + r.evaluations, 0);
  assert.ok(batched.rounds! < total, `${batched.rounds} rounds for ${total} evaluations`);
  // Each restart's run, alone through the same batched optimizer, is the same run.
  starts.forEach((s, k) => {
    const alone = calibrate(p, ALL, [s, s], { ...o, batch: "always" }).runs[0];
    assert.deepEqual(
      batched.runs[k].trace.map((t) => t.value),
      alone.trace.map((t) => t.value),
      `restart ${k}`,
    );
    assert.equal(batched.runs[k].reason, alone.reason);
  });
  assert.notDeepEqual(batched.runs[0].trace, batched.runs[1].trace);
  // one at a time: the Wolfe L-BFGS, and the same minimum
  const seq = calibrate(p, ALL, starts, { ...o, batch: "never" });
  assert.equal(seq.rounds, null);
  seq.runs.forEach((r, k) => assert.ok(Math.abs(r.value - batched.runs[k].value) < 1e-9));
});

Deno.test("a warm start at the optimum converges at once; the fitted u scores other rows", () => {
  const p = lineProblem({ kind: "mse" });
  const train = ALL.slice(0, 20), valid = ALL.slice(20);
  const cold = calibrate(p, train, [initialU(p, train)], { method: "lbfgs", steps: 500, tolerance: 1e-12 });
  const uHat = cold.runs[0].x;
  const warm = calibrate(p, train, [uOf(p, thetaOf(p, uHat))], {
    method: "lbfgs",
    steps: 500,
    tolerance: 1e-12,
  });
  assert.ok(warm.runs[0].iterations <= 2 && warm.runs[0].iterations < cold.runs[0].iterations);
  // The loss and gradient on validation rows: the plain mse of the predictions there.
  const pred = predict(p, valid, thetaOf(p, uHat));
  const mse = valid.reduce((s, r, i) => s + (Y[r] - pred[i]) ** 2, 0) / valid.length;
  const v = objectiveOn(p, valid)(uHat);
  assert.ok(rel(v.value, mse) < 1e-12);
  assert.equal(splitMetrics(p, valid, uHat).loss, v.value);
  assert.ok(v.grad.some((g) => Math.abs(g) > 1e-6), "off the training optimum the gradient is not zero");
});

Deno.test("specFromData: an inline spec fits; a program path without a spec file is a spec error", async () => {
  const json = {
    name: "line",
    program: { text: LINE },
    inputs: { x: "x" },
    target: "y",
    data: { columns: { x: X, y: Y } },
    backend: "f64",
  };
  const r = await fitSpec(specFromData(json, "request"), { plot: false });
  assert.ok(rel(r.params[1].value, ols().beta[1]) < 1e-6);
  assert.throws(() => specFromData({ ...json, program: "line.scm" }, "request"), /spec.*\$\.program/s);
});

Deno.test("tfjs stages agree with f64 to float32 precision", async () => {
  const tf = lineProblem({ kind: "mse" }, await backendByName("tfjs"));
  const f = lineProblem({ kind: "mse" });
  const u = Float64Array.of(1, 0.6);
  assert.ok(rel(objectiveOn(tf, ALL)(u).value, objectiveOn(f, ALL)(u).value) < 1e-5);
});

Deno.test("the staged loss serves other rows and other problems of the same program: one trace per row count", () => {
  const staged: { stats(): { recordings: number; replays: number } }[] = [];
  const watching: Backend = {
    ...f64Backend,
    stage: (f, o) => {
      const s = f64Backend.stage(f, o);
      staged.push(s);
      return s;
    },
  };
  const program = loadProgram(LINE, "line.scm");
  const problemOn = (ys: number[], backend: Backend, trace = true) =>
    fitProblem({
      backend,
      program,
      trace,
      table: tableFromColumns({ x: X, y: ys }, ["x", "y"], "error"),
      spec: { params: {}, inputs: { x: "x" }, target: "y", loss: { kind: "mse" } },
    });
  const Y2 = Y.map((y, i) => y + Math.cos(i));
  const first = problemOn(Y, watching), second = problemOn(Y2, watching);
  const u = Float64Array.of(0.9, 0.6),
    evens = ALL.filter((i) => i % 2 === 0),
    odds = ALL.filter((i) => i % 2);
  for (
    const [p, rows] of [[first, ALL], [second, ALL], [first, evens], [second, odds], [first, ALL]] as const
  ) {
    const got = objectiveOn(p, rows)(u);
    const want = objectiveOn(problemOn(p === first ? Y : Y2, f64Backend, false), rows)(u);
    assert.ok(Object.is(got.value, want.value), `${got.value} vs untraced ${want.value}`);
    got.grad.forEach((g, j) => assert.ok(Object.is(g, want.grad[j]), `grad ${j}: ${g} vs ${want.grad[j]}`));
  }
  assert.equal(staged.length, 1, "one staged loss for both problems");
  const st = staged[0].stats();
  assert.equal(st.recordings, 2, `30 rows, then 15 rows: ${JSON.stringify(st)}`);
  assert.equal(st.replays, 3);
});

Deno.test("lossAt is the objective's value, by a plain run on new rows and a forward replay on known ones", () => {
  for (const loss of [{ kind: "mse" as const }, { kind: "gaussian-nll" as const }]) {
    const p = lineProblem(loss), u = uOf(p, [0.8, 0.65, 0.4].slice(0, p.nu));
    const some = ALL.slice(0, 11);
    const plain = lossAt(p, some, u); // no objective on 11 rows yet: a plain run
    assert.ok(Object.is(plain, objectiveOn(p, some)(u).value), `${loss.kind}: plain`);
    const replayed = lossAt(p, some, u); // now a forward replay of that objective's trace
    assert.ok(Object.is(replayed, plain), `${loss.kind}: replayed ${replayed} vs ${plain}`);
  }
});
