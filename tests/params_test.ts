// Parameter transforms (lib/fit/params.ts) and the delta method of the results
// (lib/fit/uncertainty.ts fittedParams): θ ↔ u round trips, dθ/du against central differences
// and the closed forms (θ for positive, (hi−lo)·s(1−s) for bounded), stable tails, and the
// spec errors of values outside a transform's domain.
import assert from "node:assert/strict";
import { dThetaDu, fitParams, toTheta, toU, type Transform } from "../lib/fit/params.ts";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { loadProgram } from "../lib/program.ts";
import { tableFromColumns } from "../lib/fit/data.ts";
import { fitProblem } from "../lib/fit/problem.ts";
import { fittedParams } from "../lib/fit/uncertainty.ts";

const FREE: Transform = { kind: "free" };
const POS: Transform = { kind: "positive" };
const BND: Transform = { kind: "bounded", lower: -1, upper: 3 };

Deno.test("toTheta and toU are inverse, and θ stays inside the domain", () => {
  for (
    const [t, thetas] of [[FREE, [-5, 0, 2.5]], [POS, [1e-8, 0.3, 4e5]], [BND, [-0.999, 0, 2.9999]]] as const
  ) {
    for (const th of thetas) {
      const back = toTheta(t, toU(t, th, "p"));
      assert.ok(Math.abs(back - th) <= 1e-12 * Math.max(1, Math.abs(th)), `${t.kind}: ${th} → ${back}`);
    }
  }
  assert.equal(toTheta(POS, Math.log(2)), 2);
  assert.equal(toTheta(BND, 0), 1, "u = 0 is the middle of (−1, 3)");
  for (const u of [-800, 800]) {
    const v = toTheta(BND, u);
    assert.ok(Number.isFinite(v) && v >= -1 && v <= 3, `bounded at u=${u}: ${v}`);
    assert.ok(Number.isFinite(dThetaDu(BND, u)) && dThetaDu(BND, u) >= 0);
  }
});

Deno.test("dθ/du matches central differences and the closed forms", () => {
  for (const t of [FREE, POS, BND]) {
    for (const u of [-2.3, -0.1, 0, 0.7, 3.1]) {
      const h = 1e-6;
      const fd = (toTheta(t, u + h) - toTheta(t, u - h)) / (2 * h);
      assert.ok(Math.abs(dThetaDu(t, u) - fd) <= 1e-8 * Math.max(1, Math.abs(fd)), `${t.kind} at ${u}`);
    }
  }
  const u = 0.7, s = 1 / (1 + Math.exp(-u));
  assert.equal(dThetaDu(FREE, u), 1);
  assert.equal(dThetaDu(POS, u), toTheta(POS, u));
  assert.ok(Math.abs(dThetaDu(BND, u) - 4 * s * (1 - s)) < 1e-15);
});

Deno.test("a value outside its transform's domain is a spec error naming the parameter", () => {
  assert.throws(() => toU(POS, 0, "k"), /\$\.params\.k\.init: a positive parameter needs init > 0, got 0/);
  assert.throws(
    () => toU(BND, 3, "q"),
    /\$\.params\.q\.init: a bounded parameter needs -1 < init < 3, got 3/,
  );
  assert.throws(
    () => fitParams({ params: { z: { transform: "free", fixed: false } } }, [{ name: "k" } as never]),
    /\$\.params\.z: the program has no parameter 'z' \(its parameters: k\)/,
  );
});

Deno.test("fittedParams: se(θ) = se(u)·|dθ/du| (delta method), σ's se = se(log σ)·σ", () => {
  const p = fitProblem({
    backend: f64Backend,
    program: loadProgram(
      "(define A 1.5) (define k 0.3) (define c 0.1) (+ c (* A (exp (- (* k x)))))",
      "m.scm",
    ),
    table: tableFromColumns({ x: [0, 1, 2], y: [1, 2, 3] }, ["x", "y"], "error"),
    spec: {
      params: {
        A: { transform: "positive", fixed: false },
        k: { transform: "bounded", lower: 0, upper: 2, fixed: false },
        c: { transform: "free", fixed: true },
      },
      inputs: { x: "x" },
      target: "y",
      loss: { kind: "gaussian-nll" },
    },
  });
  const uHat = Float64Array.of(Math.log(2), 0.4, Math.log(0.05));
  const seU = Float64Array.of(0.1, 0.2, 0.3);
  const out = fittedParams(p, uHat, uHat, seU);
  const s = 1 / (1 + Math.exp(-0.4));
  assert.deepEqual(out.map((q) => q.name), ["A", "k", "c", "sigma"]);
  assert.ok(Math.abs(out[0].se! - 0.1 * 2) < 1e-15);
  assert.ok(Math.abs(out[1].se! - 0.2 * 2 * s * (1 - s)) < 1e-15);
  assert.equal(out[2].se, null, "a fixed parameter has no standard error");
  assert.equal(out[2].value, 0.1);
  assert.ok(Math.abs(out[3].se! - 0.3 * 0.05) < 1e-15);
  assert.equal(out[3].role, "noise");
});
