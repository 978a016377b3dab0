/**
 * Small dense-vector helpers and the guarded call of an objective that every optimizer uses.
 * Guarding in one place is what keeps NaN/Inf out of optimizer state: nothing else calls an
 * objective directly. No optimizer logic lives here.
 */
import { DmciError } from "../../errors.ts";
import type { Evaluation, Objective } from "./types.ts";

/**
 * xᵀy.
 *
 * @example
 * ```ts
 * dot(Float64Array.of(1, 2), Float64Array.of(3, 4)); // 11
 * ```
 */
export function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

/**
 * ‖x‖∞, the largest absolute element (NaN if any element is NaN, so a test `≤ tol` fails on it).
 *
 * @example
 * ```ts
 * normInf(Float64Array.of(1, -3)); // 3
 * ```
 */
export function normInf(x: Float64Array): number {
  let m = 0;
  for (const v of x) {
    const a = Math.abs(v);
    if (!(a <= m)) m = a; // `!(a <= m)` also lets a NaN through
  }
  return m;
}

/**
 * The Euclidean norm ‖x‖₂.
 *
 * @example
 * ```ts
 * norm2(Float64Array.of(3, 4)); // 5
 * ```
 */
export function norm2(x: Float64Array): number {
  return Math.sqrt(dot(x, x));
}

/**
 * x + a·d as a new array.
 *
 * @example
 * ```ts
 * axpy(Float64Array.of(1, 1), 2, Float64Array.of(1, 0)); // [3, 1]
 * ```
 */
export function axpy(x: Float64Array, a: number, d: Float64Array): Float64Array {
  const r = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) r[i] = x[i] + a * d[i];
  return r;
}

/**
 * A number for messages: 3 significant digits, exponent form when small or large.
 *
 * @example
 * ```ts
 * fmt(3.14159e-9); // "3.14e-9"
 * ```
 */
export function fmt(v: number): string {
  if (!Number.isFinite(v) || v === 0) return String(v);
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e4 ? String(Number(v.toPrecision(3))) : v.toExponential(2);
}

/**
 * A guarded evaluation: copies of the objective's answer, and why it is unusable if it is.
 *
 * @example
 * ```ts
 * const c: Checked = { value: NaN, grad: Float64Array.of(0), problem: "loss was NaN" };
 * ```
 */
export interface Checked extends Evaluation {
  /** Null when value and every gradient element are finite; otherwise e.g. "loss was NaN". */
  problem: string | null;
}

/**
 * Calls `f` on a copy of `x`, copies the gradient (the objective may reuse its buffer), and says
 * what is non-finite, if anything. A gradient of the wrong length is a bug in the caller's
 * objective, not a numerical accident, so it throws instead of being rejected.
 *
 * @example
 * ```ts
 * const e = evaluate((x) => ({ value: Math.log(x[0]), grad: Float64Array.of(1 / x[0]) }), Float64Array.of(-1));
 * e.problem; // "loss was NaN"
 * ```
 */
export function evaluate(f: Objective, x: Float64Array): Checked {
  const r = f(Float64Array.from(x));
  const value = r.value;
  if (r.grad.length !== x.length) {
    throw new DmciError(
      "type",
      `objective returned a gradient of length ${r.grad.length} for ${x.length} parameters`,
    );
  }
  const grad = Float64Array.from(r.grad);
  let problem: string | null = null;
  if (!Number.isFinite(value)) problem = `loss was ${value}`;
  else {
    const bad = grad.findIndex((g) => !Number.isFinite(g));
    if (bad >= 0) problem = `gradient element ${bad} was ${grad[bad]}`;
  }
  return { value, grad, problem };
}

/**
 * A gradient-free objective's value ranked as a minimiser ranks it: NaN counts as +Infinity, so
 * a point where the function is undefined is the worst and never the best.
 *
 * @example
 * ```ts
 * worstIfNaN(NaN); // Infinity
 * ```
 */
export function worstIfNaN(v: number): number {
  return Number.isNaN(v) ? Infinity : v;
}
