// The interpreted Kalman log-likelihood (fixtures/enso/kalman.scm run by the evaluator) against the
// hand-written float64 filter of lib/domains/enso/filter_f64.ts (plain loops, Kronecker Lyapunov
// solve, no shared code): equal to 1e-9 relative on f64 for AR(1), AR(2) and the n = 20 latent VAR
// at random θ, gradients equal to central differences, float32 agreement on tfjs; missing cells.
// The real series are read in place from ../shared/data/enso; without them these tests are ignored
// with a message.
import assert from "node:assert/strict";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { tfjsBackend } from "../lib/backend/tfjs/mod.ts";
import {
  anomalies,
  dataFiles,
  ENSO_DATA_DIR,
  type PreparedData,
  readMonthly,
  standardised,
} from "../lib/domains/enso/data.ts";
import { loadModel, type ModelId, modelInputs } from "../lib/domains/enso/models.ts";
import {
  forwardLoglik,
  likelihood,
  loglikAndGrad,
  predictions,
  untracedLoglik,
  untracedLoglikAndGrad,
} from "../lib/domains/enso/likelihood.ts";
import { kalmanLoglik, stateSpaceAt, stationaryCovariance } from "../lib/domains/enso/filter_f64.ts";
import { normal } from "../lib/random.ts";

const files = dataFiles(ENSO_DATA_DIR);
const present = await Deno.stat(files.nino12).then(() => true, () => false) &&
  await Deno.stat(files.pacific).then(() => true, () => false);
if (!present) {
  console.warn(`enso_kalman_test: ${ENSO_DATA_DIR} is absent; the tests on real data are ignored`);
}
const nino = present ? anomalies(await readMonthly(files.nino12), 1950, 1999, 2010) : undefined;
const pacific = present ? standardised(await readMonthly(files.pacific), 1978, 2009, 2020) : undefined;

/** θ₀ perturbed by a seeded N(0, scale²) per entry. */
function randomTheta(theta0: Float64Array, seed: number, scale: number): Float64Array {
  const z = normal(seed);
  return theta0.map((v) => v + scale * z());
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

const cases: [ModelId, number, () => PreparedData | undefined][] = [
  ["ar1+noise", 1, () => nino],
  ["ar2+noise", 1, () => nino],
  ["latent-var", 20, () => pacific],
];

for (const [id, dim, data] of cases) {
  Deno.test({
    name: `enso ${id}${
      id === "latent-var" ? ` n=${dim}` : ""
    }: interpreted log-likelihood = TS float64 filter to 1e-9`,
    ignore: !present,
    fn: async () => {
      const d = data()!;
      const model = await loadModel(id, { dim });
      const lik = likelihood(model, modelInputs(d, 0, d.trainEnd), f64Backend);
      for (const seed of [1, 2, 3]) {
        const theta = randomTheta(lik.theta0, seed, 0.3);
        const ref = kalmanLoglik(stateSpaceAt(id, theta, dim, d.names.length), d.rows.slice(0, d.trainEnd));
        const interp = forwardLoglik(lik, theta);
        assert.ok(relErr(interp, ref) < 1e-9, `seed ${seed}: ${interp} vs ${ref}`);
        assert.equal(loglikAndGrad(lik, theta).value, interp);
      }
    },
  });
}

/**
 * The scalar Kalman filter of an AR(1) plus noise, written here: x' = φx + w (w ~ N(0, q)),
 * y = x + v (v ~ N(0, r)), from x ~ N(0, q/(1 − φ²)); Σ −½(log 2πS + e²/S).
 */
function ar1Loglik(y: readonly number[], phi: number, q: number, r: number): number {
  let m = 0, P = q / (1 - phi * phi), ll = 0;
  for (const yt of y) {
    const S = P + r, e = yt - m, k = P / S;
    ll -= 0.5 * (Math.log(2 * Math.PI * S) + e * e / S);
    m = phi * (m + k * e);
    P = phi * phi * (1 - k) * P + q;
  }
  return ll;
}

Deno.test({
  name: "enso ar1+noise: interpreted log-likelihood = a scalar filter written in this test, to 1e-9",
  ignore: !present,
  fn: async () => {
    const d = nino!;
    const lik = likelihood(await loadModel("ar1+noise"), modelInputs(d, 0, d.trainEnd), f64Backend);
    const y = d.rows.slice(0, d.trainEnd).map((r) => r[0]);
    for (const seed of [4, 5, 6]) {
      const [u, logQ, logR] = randomTheta(lik.theta0, seed, 0.5);
      const ref = ar1Loglik(y, u / Math.sqrt(1 + u * u), Math.exp(logQ), Math.exp(logR));
      const got = forwardLoglik(lik, Float64Array.of(u, logQ, logR));
      assert.ok(relErr(got, ref) < 1e-9, `seed ${seed}: ${got} vs ${ref}`);
    }
  },
});

for (const [id, dim] of [["ar2+noise", 1], ["latent-var", 4]] as const) {
  Deno.test({
    name: `enso ${id}: the traced replays (value+gradient, forward only) equal untraced runs to the bit`,
    ignore: !present,
    fn: async () => {
      const d = id === "latent-var" ? pacific! : nino!;
      const lik = likelihood(await loadModel(id, { dim }), modelInputs(d, 0, d.trainEnd), f64Backend);
      for (const seed of [21, 22, 23, 24]) {
        const theta = randomTheta(lik.theta0, seed, 0.2);
        const traced = loglikAndGrad(lik, theta), plain = untracedLoglikAndGrad(lik, theta);
        assert.equal(traced.value, plain.value, `seed ${seed}`);
        assert.deepEqual(traced.grad, plain.grad, `seed ${seed}`);
        assert.equal(forwardLoglik(lik, theta), untracedLoglik(lik, theta), `seed ${seed}`);
      }
      const s = lik.staged.stats();
      assert.ok(s.replays >= 4, `replays ${s.replays}`);
    },
  });
}

/** Central differences of the forward log-likelihood along each coordinate in `which`. */
function centralDiff(f: (x: Float64Array) => number, x: Float64Array, i: number, h: number): number {
  const a = x.slice(), b = x.slice();
  a[i] += h;
  b[i] -= h;
  return (f(a) - f(b)) / (2 * h);
}

for (const [id, dim] of [["ar1+noise", 1], ["ar2+noise", 1], ["latent-var", 3]] as const) {
  Deno.test({
    name: `enso ${id}${
      id === "latent-var" ? ` n=${dim}` : ""
    }: gradient through the evaluator = central differences`,
    ignore: !present,
    fn: async () => {
      const d = id === "latent-var" ? pacific! : nino!;
      const lik = likelihood(await loadModel(id, { dim }), modelInputs(d, 0, d.trainEnd), f64Backend);
      const theta = randomTheta(lik.theta0, 7, 0.3);
      const { grad } = loglikAndGrad(lik, theta);
      const f = (x: Float64Array) => forwardLoglik(lik, x);
      for (let i = 0; i < theta.length; i++) {
        const fd = centralDiff(f, theta, i, 1e-5);
        assert.ok(
          Math.abs(grad[i] - fd) <= 1e-5 * Math.max(1, Math.abs(fd)),
          `∂/∂θ${i}: ${grad[i]} vs central difference ${fd}`,
        );
      }
    },
  });
}

Deno.test({
  name: "enso latent-var n=20: gradient along random directions = central differences",
  ignore: !present,
  fn: async () => {
    const d = pacific!;
    const lik = likelihood(
      await loadModel("latent-var", { dim: 20 }),
      modelInputs(d, 0, d.trainEnd),
      f64Backend,
    );
    const theta = randomTheta(lik.theta0, 11, 0.1);
    const { grad } = loglikAndGrad(lik, theta);
    const z = normal(12);
    for (let k = 0; k < 2; k++) {
      const dir = theta.map(() => z());
      const h = 1e-5;
      const fd = (forwardLoglik(lik, theta.map((v, i) => v + h * dir[i])) -
        forwardLoglik(lik, theta.map((v, i) => v - h * dir[i]))) / (2 * h);
      const g = grad.reduce((s, v, i) => s + v * dir[i], 0);
      assert.ok(Math.abs(g - fd) <= 1e-6 * Math.abs(fd), `direction ${k}: ${g} vs ${fd}`);
    }
  },
});

Deno.test({
  name: "enso on tfjs (float32): log-likelihood and gradient agree with f64 to float32 precision",
  ignore: !present,
  fn: async () => {
    for (
      const [id, dim, d] of [["ar1+noise", 1, nino], ["ar2+noise", 1, nino], [
        "latent-var",
        3,
        pacific,
      ]] as const
    ) {
      const model = await loadModel(id, { dim });
      const inputs = modelInputs(d!, 0, d!.trainEnd);
      const theta = randomTheta(likelihood(model, inputs, f64Backend).theta0, 5, 0.3);
      const ref = loglikAndGrad(likelihood(model, inputs, f64Backend), theta);
      const got = loglikAndGrad(likelihood(model, inputs, tfjsBackend), theta);
      assert.ok(relErr(got.value, ref.value) < 1e-4, `${id}: ${got.value} vs ${ref.value}`);
      const scale = Math.max(...ref.grad.map(Math.abs));
      ref.grad.forEach((g, i) =>
        assert.ok(Math.abs(got.grad[i] - g) < 1e-3 * scale, `${id} ∂/∂θ${i}: ${got.grad[i]} vs ${g}`)
      );
    }
  },
});

Deno.test({
  name: "enso: missing cells are left out of the update, as the TS filter does",
  ignore: !present,
  fn: async () => {
    const d = pacific!;
    const rows = d.rows.slice(0, 60).map((r, t) =>
      r.map((v, j) => (t % 7 === 3 && j % 3 === 0) || t === 20 ? NaN : v)
    );
    const holes: PreparedData = { ...d, rows, trainEnd: rows.length };
    const lik = likelihood(
      await loadModel("latent-var", { dim: 4 }),
      modelInputs(holes, 0, rows.length),
      f64Backend,
    );
    const theta = randomTheta(lik.theta0, 3, 0.2);
    const ref = kalmanLoglik(stateSpaceAt("latent-var", theta, 4, 7), rows);
    assert.ok(relErr(forwardLoglik(lik, theta), ref) < 1e-9, `${forwardLoglik(lik, theta)} vs ${ref}`);
  },
});

Deno.test({
  name: "enso: one-step predictions sum to the log-likelihood and predict C m",
  ignore: !present,
  fn: async () => {
    const d = nino!;
    const model = await loadModel("ar1+noise");
    const inputs = modelInputs(d, 0, 24);
    const lik = likelihood(model, inputs, f64Backend);
    const p = predictions(model, inputs, f64Backend, lik.theta0);
    assert.equal(p.loglik.length, 24);
    assert.ok(relErr(p.loglik.reduce((a, b) => a + b, 0), forwardLoglik(lik, lik.theta0)) < 1e-12);
    assert.equal(p.predicted[0][0], 0); // stationary start: mean 0
    // AR(1): the prediction of y₂ is φ times the filtered state after y₁.
    const phi = 0.5 / Math.sqrt(1.25), q = Math.exp(-1), r = Math.exp(-1);
    const p0 = q / (1 - phi * phi);
    assert.ok(Math.abs(p.predicted[1][0] - phi * p0 / (p0 + r) * d.rows[0][0]) < 1e-12);
  },
});

Deno.test("enso latent-var transform: P∞ = I + U Uᵀ solves the Lyapunov equation, A is stable", () => {
  const n = 6, z = normal(4);
  const theta = Float64Array.from({ length: n * n + 7 * n + 7 }, () => 1.5 * z());
  const { A, Q } = stateSpaceAt("latent-var", theta, n, 7);
  const P = stationaryCovariance(A, Q, n);
  const doubled = stationaryCovariance(A, Q, n, "doubling");
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let uu = i === j ? 1 : 0;
      for (let k = 0; k < n; k++) uu += theta[i * n + k] * theta[j * n + k];
      assert.ok(
        Math.abs(P[i * n + j] - uu) < 1e-8 * Math.max(1, Math.abs(uu)),
        `P[${i},${j}] ${P[i * n + j]} vs ${uu}`,
      );
      assert.ok(Math.abs(doubled[i * n + j] - uu) < 1e-8 * Math.max(1, Math.abs(uu)));
    }
  }
});
