// The Kalman spec's model program (fixtures/specs/nino12_ar1_kalman.json) against a plain float64
// Kalman filter written here in TypeScript: at fixed parameters the program's log-likelihood of
// the Niño 1+2 anomalies must match it to 1e-9 relative on f64 and 1e-4 on tfjs (issue 5).
import assert from "node:assert/strict";
import { loadProgram, type Program, runProgram, valueAndGrad } from "../lib/program.ts";
import type { Backend } from "../lib/backend/backend.ts";
import { interpretedValueAndGrad } from "../lib/dmci.ts";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { tfjsBackend } from "../lib/backend/tfjs/mod.ts";

const SPEC_URL = new URL("../fixtures/specs/nino12_ar1_kalman.json", import.meta.url);
const spec = JSON.parse(await Deno.readTextFile(SPEC_URL));

/** The spec's CSV as columns (a file made by scripts/make_fixtures.ts: plain numbers, no quoting). */
function readColumns(text: string): Record<string, number[]> {
  const [header, ...lines] = text.trim().split("\n");
  const names = header.split(",");
  const cols: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const line of lines) line.split(",").forEach((cell, i) => cols[names[i]].push(Number(cell)));
  return cols;
}

const columns = readColumns(await Deno.readTextFile(new URL(spec.data.csv, SPEC_URL)));
const [[inputName, column]] = Object.entries(spec.inputs as Record<string, string>);
/** The whole observed series, and the training rows of the spec's column split. */
const series = columns[column];
const split = spec.split as { column: string; op: string; value: number };
const trainSeries = series.filter((_, i) => columns[split.column][i] < split.value);
const program: Program = loadProgram(
  await Deno.readTextFile(new URL(spec.program, SPEC_URL)),
  "fixtures/models/nino12_ar1_kalman.scm",
);

interface Point {
  readonly phi: number;
  readonly q: number;
  readonly r: number;
}

/**
 * The reference: the Kalman filter of x_t = φx_{t−1} + w_t (w ~ N(0, q)), y_t = x_t + v_t
 * (v ~ N(0, r)) from the stationary state x ~ N(0, q/(1 − φ²)); the exact Gaussian
 * log-likelihood Σ −½(log(2πS_t) + e_t²/S_t) from its innovations e_t and their variances S_t.
 */
function kalmanLogLikelihood(y: readonly number[], { phi, q, r }: Point): number {
  let m = 0;
  let p = q / (1 - phi * phi);
  let ll = 0;
  for (const yt of y) {
    const s = p + r;
    const e = yt - m;
    const gain = p / s;
    ll -= 0.5 * (Math.log(2 * Math.PI * s) + e * e / s);
    m = phi * (m + gain * e);
    p = phi * phi * (1 - gain) * p + q;
  }
  return ll;
}

/**
 * The same likelihood without a filter: log N(y; 0, Σ) with Σᵢⱼ = q·φ^|i−j|/(1 − φ²) + r·δᵢⱼ,
 * by a Cholesky factorisation (O(n³), so only for short series); checks the reference itself.
 */
function denseLogLikelihood(y: readonly number[], { phi, q, r }: Point): number {
  const n = y.length;
  const L = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = q * phi ** (i - j) / (1 - phi * phi) + (i === j ? r : 0);
      for (let k = 0; k < j; k++) sum -= L[i][k] * L[j][k];
      L[i][j] = i === j ? Math.sqrt(sum) : sum / L[j][j];
    }
  }
  // z = L⁻¹y, so yᵀΣ⁻¹y = zᵀz; log det Σ = 2 Σ log Lᵢᵢ.
  const z: number[] = [];
  let logDet = 0;
  let quad = 0;
  for (let i = 0; i < n; i++) {
    let sum = y[i];
    for (let k = 0; k < i; k++) sum -= L[i][k] * z[k];
    z.push(sum / L[i][i]);
    logDet += 2 * Math.log(L[i][i]);
    quad += z[i] * z[i];
  }
  return -0.5 * (n * Math.log(2 * Math.PI) + logDet + quad);
}

/** The program's θ for a point, in the order of its parameters. */
function thetaOf(point: Point): number[] {
  return program.params.map((p) => {
    const v = (point as unknown as Record<string, number>)[p.name];
    assert.ok(v !== undefined, `unexpected parameter ${p.name}`);
    return v;
  });
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));

/** The spec's starting point (the program's literals), one near the maximum, and one with φ < 0. */
const INIT: Point = Object.fromEntries(program.params.map((p) => [p.name, p.value])) as unknown as Point;
const POINTS: readonly Point[] = [INIT, { phi: 0.93, q: 0.18, r: 0.004 }, { phi: -0.4, q: 0.8, r: 0.2 }];

/** Value and gradient of the program at a point, the series its input: compiled, or through the evaluator. */
function programValue(
  backend: Backend,
  y: readonly number[],
  point: Point,
  mode: "direct" | "interpreted" = "direct",
) {
  const run = mode === "direct" ? valueAndGrad : interpretedValueAndGrad;
  return run(program, backend, { theta: thetaOf(point), inputs: { [inputName]: Float64Array.from(y) } });
}

Deno.test("the model program has the parameters phi, q and r and the spec's inputs", () => {
  assert.deepEqual(program.params.map((p) => p.name).sort(), ["phi", "q", "r"]);
  assert.equal(split.op, "<"); // as trainSeries assumes
  assert.equal(series.length, 732);
  assert.equal(trainSeries.length, 600);
});

Deno.test("the reference Kalman filter equals the dense Gaussian log-density of the series", () => {
  const head = series.slice(0, 48);
  for (const point of POINTS) {
    const a = kalmanLogLikelihood(head, point);
    const b = denseLogLikelihood(head, point);
    assert.ok(relErr(a, b) < 1e-11, `${JSON.stringify(point)}: filter ${a}, dense ${b}`);
  }
});

Deno.test("f64: the program's Kalman log-likelihood equals the float64 reference to 1e-9", () => {
  for (const [label, y] of [["all years", series], ["training years", trainSeries]] as const) {
    for (const point of POINTS) {
      const want = kalmanLogLikelihood(y, point);
      const got = programValue(f64Backend, y, point).value;
      assert.ok(
        relErr(got, want) <= 1e-9,
        `${label} ${JSON.stringify(point)}: program ${got}, reference ${want}`,
      );
    }
  }
});

Deno.test("f64: runProgram writes the same log-likelihood", () => {
  const written = runProgram(program, f64Backend, { inputs: { [inputName]: Float64Array.from(series) } });
  const want = kalmanLogLikelihood(series, INIT);
  assert.ok(relErr(Number(written), want) <= 1e-9, `written ${written}, reference ${want}`);
});

Deno.test("f64: the program's gradient equals central differences of the reference", () => {
  const point: Point = { phi: 0.93, q: 0.18, r: 0.004 };
  const { grad } = programValue(f64Backend, trainSeries, point);
  const names = program.params.map((p) => p.name as keyof Point);
  names.forEach((name, i) => {
    const h = 1e-6 * Math.abs(point[name]);
    const up = kalmanLogLikelihood(trainSeries, { ...point, [name]: point[name] + h });
    const down = kalmanLogLikelihood(trainSeries, { ...point, [name]: point[name] - h });
    const fd = (up - down) / (2 * h);
    const g = grad[i];
    assert.ok(
      typeof g === "number" && relErr(g, fd) < 1e-6,
      `d/d${name}: program ${g}, central difference ${fd}`,
    );
  });
});

Deno.test("tfjs (float32): the program's Kalman log-likelihood equals the float64 reference to 1e-4", () => {
  for (const point of POINTS) {
    const want = kalmanLogLikelihood(series, point);
    const got = programValue(tfjsBackend, series, point).value;
    assert.ok(relErr(got, want) <= 1e-4, `${JSON.stringify(point)}: program ${got}, reference ${want}`);
  }
});

Deno.test("interpreted (the spec's mode): the log-likelihood equals the reference on f64 and on tfjs", () => {
  assert.equal(spec.mode, "interpreted");
  for (const point of POINTS) {
    const want = kalmanLogLikelihood(trainSeries, point);
    const got = programValue(f64Backend, trainSeries, point, "interpreted").value;
    assert.ok(relErr(got, want) <= 1e-9, `f64 ${JSON.stringify(point)}: program ${got}, reference ${want}`);
  }
  const want = kalmanLogLikelihood(trainSeries, INIT);
  const got = programValue(tfjsBackend, trainSeries, INIT, "interpreted").value;
  assert.ok(relErr(got, want) <= 1e-4, `tfjs: program ${got}, reference ${want}`);
});
