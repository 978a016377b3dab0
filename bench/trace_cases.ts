/**
 * The cases of the trace benchmark (bench/trace_ratios.ts), each as a dmci program with its
 * inputs and, where it is small enough to write, the same computation by hand in TypeScript
 * float64 with a hand-written reverse pass (the machine's speed, the goal's reference). This
 * module defines and checks the cases; it does not time them.
 */
import type { Inputs } from "../lib/program.ts";
import { RECURRENCE_SOURCE, RECURRENCE_THETA, STEPS } from "./core_cases.ts";

/** One benchmark case. */
export interface TraceCase {
  readonly name: string;
  readonly file: string;
  readonly source: string;
  readonly inputs: Inputs;
  readonly theta: readonly number[];
  /** Value and gradient by hand, or null when the case has none. */
  readonly hand: ((theta: readonly number[]) => { value: number; grad: number[] }) | null;
}

const DT = 1 / 500;

/** x ← x + dt·(a·x − b·x·x) for STEPS steps, and its gradient by a hand-written reverse pass. */
export function handRecurrenceF64(theta: readonly number[]): { value: number; grad: number[] } {
  const [a, b, x0] = theta, xs = new Float64Array(STEPS + 1);
  xs[0] = x0;
  for (let n = 0; n < STEPS; n++) {
    const x = xs[n];
    xs[n + 1] = x + DT * (a * x - b * x * x);
  }
  let gx = 1, ga = 0, gb = 0;
  for (let n = STEPS - 1; n >= 0; n--) {
    const x = xs[n];
    ga += gx * DT * x;
    gb -= gx * DT * x * x;
    gx *= 1 + DT * (a - 2 * b * x);
  }
  return { value: xs[STEPS], grad: [ga, gb, gx] };
}

/**
 * The AR(1)+noise Kalman log-likelihood of fixtures/models/nino12_ar1_kalman.scm (stationary
 * start) and its gradient in (φ, q, r), by a hand-written reverse pass over the stored forward.
 */
export function handKalmanF64(
  y: Float64Array,
): (theta: readonly number[]) => { value: number; grad: number[] } {
  const n = y.length, M = new Float64Array(n + 1), P = new Float64Array(n + 1);
  return (theta) => {
    const [phi, q, r] = theta;
    M[0] = 0;
    P[0] = q / (1 - phi * phi);
    let ll = 0;
    for (let t = 0; t < n; t++) {
      const p = P[t], s = p + r, e = y[t] - M[t], k = p / s;
      ll -= 0.5 * (Math.log(2 * Math.PI * s) + (e * e) / s);
      M[t + 1] = phi * (M[t] + k * e);
      P[t + 1] = phi * phi * (1 - k) * p + q;
    }
    let gphi = 0, gq = 0, gr = 0, gm = 0, gp = 0;
    for (let t = n - 1; t >= 0; t--) {
      const p = P[t], s = p + r, m = M[t], e = y[t] - m, k = p / s;
      const mf = m + k * e, pf = (1 - k) * p;
      // P[t+1] = φ²·pf + q, M[t+1] = φ·mf
      gphi += gp * 2 * phi * pf + gm * mf;
      gq += gp;
      const gpf = gp * phi * phi, gmf = gm * phi;
      // mf = m + k·e, pf = (1 − k)·p, ll −= ½(log(2πs) + e²/s)
      let gk = gmf * e - gpf * p, ge = gmf * k - e / s, gs = -0.5 / s + 0.5 * (e * e) / (s * s);
      let gpp = gpf * (1 - k);
      // k = p / s
      gpp += gk / s;
      gs -= (gk * p) / (s * s);
      gk = 0;
      gm = gmf - ge;
      ge = 0;
      gpp += gs;
      gr += gs;
      gp = gpp;
    }
    const d = 1 - phi * phi;
    gq += gp / d;
    gphi += (gp * q * 2 * phi) / (d * d);
    return { value: ll, grad: [gphi, gq, gr] };
  };
}

/** The Niño 1+2 training anomalies (1950–1999, 600 months) of the bundled fixture table. */
export function ninoTraining(): Float64Array {
  const text = Deno.readTextFileSync(new URL("../fixtures/data/nino12_anomalies.csv", import.meta.url));
  const rows = text.trim().split("\n").slice(1).map((l) => l.split(","));
  return Float64Array.from(rows.filter((r) => Number(r[0]) < 2000).map((r) => Number(r[4])));
}

/** The benchmark's cases with a hand-written reference (recurrence-1000, AR(1) Kalman). */
export function scalarCases(): TraceCase[] {
  const y = ninoTraining();
  const kalman = Deno.readTextFileSync(new URL("../fixtures/models/nino12_ar1_kalman.scm", import.meta.url));
  return [
    {
      name: "recurrence-1000",
      file: "recurrence.scm",
      source: RECURRENCE_SOURCE,
      inputs: {},
      theta: RECURRENCE_THETA,
      hand: handRecurrenceF64,
    },
    {
      name: "ar1-kalman-nino12",
      file: "nino12_ar1_kalman.scm",
      source: kalman,
      inputs: { y },
      theta: [0.9, 0.2, 0.1],
      hand: handKalmanF64(y),
    },
  ];
}

/** The tensor-heavy case: the fixture program mlp_tensor.scm (no hand-written version). */
export function tensorCase(): TraceCase {
  const source = Deno.readTextFileSync(new URL("../fixtures/programs/mlp_tensor.scm", import.meta.url));
  return { name: "mlp_tensor", file: "mlp_tensor.scm", source, inputs: {}, theta: [], hand: null };
}
