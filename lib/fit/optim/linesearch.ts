/**
 * The strong-Wolfe line search of Nocedal & Wright (2nd ed.), Algorithms 3.5 (bracketing) and
 * 3.6 (zoom, by safeguarded cubic/quadratic interpolation), used by L-BFGS. It also owns the
 * non-finite rule for L-BFGS: a trial step whose value or gradient is NaN/Inf is rejected and the
 * step shortened, so NaN never reaches the caller. It must not keep state between calls.
 */
import { axpy, type Checked, dot, evaluate, fmt } from "./vec.ts";
import type { Objective } from "./types.ts";

/** Relative slack in the sufficient-decrease test, for rounding in the objective value. */
const ROUNDING_SLACK = 1e-12;

/**
 * Constants of the line search; the defaults are Nocedal & Wright's for quasi-Newton methods.
 *
 * @example
 * ```ts
 * const o: LineSearchOptions = { c2: 0.1 }; // a more exact search, as for nonlinear CG
 * ```
 */
export interface LineSearchOptions {
  /** Sufficient-decrease (Armijo) constant (default 1e-4). */
  c1?: number;
  /** Curvature constant (default 0.9). */
  c2?: number;
  /** Most objective evaluations, rejected ones included (default 80). */
  maxEvaluations?: number;
}

/**
 * The outcome of one line search.
 *
 * @example
 * ```ts
 * const f = (x: Float64Array) => ({ value: x[0] ** 2, grad: Float64Array.of(2 * x[0]) });
 * const r: LineSearchResult = wolfeLineSearch(f, Float64Array.of(1), 1, Float64Array.of(2), Float64Array.of(-1), 1);
 * if (r.ok) console.log(r.alpha, r.value);
 * ```
 */
export interface LineSearchResult {
  /** A step with sufficient decrease was found (the move is safe to take). */
  ok: boolean;
  /** That step also satisfies the strong curvature condition |φ'(α)| ≤ c2|φ'(0)|. */
  wolfe: boolean;
  alpha: number;
  /** The accepted point, its value and gradient (the starting ones when !ok). */
  x: Float64Array;
  value: number;
  grad: Float64Array;
  evaluations: number;
  /** Trial steps rejected because the value or gradient was not finite. */
  rejected: number;
  /** One line per rejected trial step, e.g. "α=1: loss was NaN". */
  problems: string[];
  /** Why it failed, when !ok. */
  reason?: string;
}

/** A trial point on the line: φ(α) = f(x + αd) and φ'(α) = ∇f(x + αd)ᵀd. */
interface Trial {
  /** False when the objective was NaN/Inf here; then v = +∞ and dv = NaN. */
  finite: boolean;
  a: number;
  v: number;
  dv: number;
  x: Float64Array;
  g: Float64Array;
}

/**
 * Finds α > 0 along the descent direction `d` from `x` with
 * f(x+αd) ≤ f(x) + c1·α·∇fᵀd (+ 1e-12·|f(x)| for rounding) and |∇f(x+αd)ᵀd| ≤ c2·|∇fᵀd|,
 * starting from `alpha0`.
 * When the budget runs out it falls back to the best step with sufficient decrease, if any
 * (`ok` but not `wolfe`).
 *
 * @example
 * ```ts
 * const f = (x: Float64Array) => ({ value: x[0] ** 2, grad: Float64Array.of(2 * x[0]) });
 * const r = wolfeLineSearch(f, Float64Array.of(1), 1, Float64Array.of(2), Float64Array.of(-2), 1);
 * r.wolfe; // true; r.x[0] is near 0
 * ```
 */
export function wolfeLineSearch(
  f: Objective,
  x: Float64Array,
  value: number,
  grad: Float64Array,
  d: Float64Array,
  alpha0: number,
  options: LineSearchOptions = {},
): LineSearchResult {
  const c1 = options.c1 ?? 1e-4;
  const c2 = options.c2 ?? 0.9;
  const maxEvaluations = options.maxEvaluations ?? 80;
  const phi0 = value;
  const dphi0 = dot(grad, d);
  let evaluations = 0;
  let rejected = 0;
  const problems: string[] = [];

  const finish = (p: Trial | null, wolfe: boolean, reason?: string): LineSearchResult =>
    p && p.a > 0
      ? { ok: true, wolfe, alpha: p.a, x: p.x, value: p.v, grad: p.g, evaluations, rejected, problems }
      : { ok: false, wolfe: false, alpha: 0, x, value, grad, evaluations, rejected, problems, reason };

  if (!(dphi0 < 0)) {
    return finish(null, false, `not a descent direction (gradient·direction = ${fmt(dphi0)})`);
  }

  /** Evaluates φ at α; a non-finite answer is recorded and becomes v = +∞ (never compared as NaN). */
  const probe = (a: number): Trial => {
    evaluations++;
    const xa = axpy(x, a, d);
    const e: Checked = evaluate(f, xa);
    if (e.problem) {
      rejected++;
      problems.push(`α=${fmt(a)}: ${e.problem}`);
      return { finite: false, a, v: Infinity, dv: NaN, x, g: grad };
    }
    return { finite: true, a, v: e.value, dv: dot(e.grad, d), x: xa, g: e.grad };
  };
  // Values are known only to rounding, so sufficient decrease allows that much slack: at the
  // rounding floor of f the (accurate) gradient still points the way, and without the slack every
  // step there fails and the search stops short of a gradient tolerance it could have reached.
  const slack = ROUNDING_SLACK * Math.abs(phi0);
  const armijo = (p: Trial) => p.v <= phi0 + c1 * p.a * dphi0 + slack;
  const curvature = (p: Trial) => Math.abs(p.dv) <= -c2 * dphi0;
  const budget = () => `no step satisfying the Wolfe conditions in ${evaluations} evaluations`;

  // Zoom (Alg. 3.6). Invariants: `lo` has sufficient decrease and the lowest value seen among such
  // steps; the interval between lo and hi holds Wolfe steps. A non-finite trial becomes `hi` with
  // value +∞, which makes the interpolation fall back to bisection towards the finite side.
  const zoom = (lo: Trial, hi: Trial): LineSearchResult => {
    while (evaluations < maxEvaluations) {
      const p = probe(interpolate(lo, hi));
      if (!p.finite || !armijo(p) || p.v >= lo.v) {
        hi = p;
      } else {
        if (curvature(p)) return finish(p, true);
        if (p.dv * (hi.a - lo.a) >= 0) hi = lo;
        lo = p;
      }
      // An interval below rounding of α cannot improve further; take what sufficient decrease gave.
      if (Math.abs(hi.a - lo.a) <= 1e-15 * Math.max(lo.a, hi.a)) break;
    }
    return finish(lo, false, budget());
  };

  // Bracketing (Alg. 3.5). Growth doubles α, but never past a point already found non-finite:
  // then it moves halfway towards it, so the search creeps up to a NaN wall instead of hitting it.
  const p0: Trial = { finite: true, a: 0, v: phi0, dv: dphi0, x, g: grad };
  let prev = p0;
  let a = alpha0;
  let aMax = Infinity;
  while (evaluations < maxEvaluations) {
    const p = probe(a);
    if (!p.finite) {
      aMax = a;
      a = prev.a + 0.5 * (a - prev.a);
      if (a - prev.a <= 1e-15 * a) break;
      continue;
    }
    if (!armijo(p) || (prev.a > 0 && p.v >= prev.v)) return zoom(prev, p);
    if (curvature(p)) return finish(p, true);
    if (p.dv >= 0) return zoom(p, prev);
    prev = p;
    const next = Math.min(2 * a, (a + aMax) / 2);
    if (next - a <= 1e-15 * a) break;
    a = next;
  }
  return finish(prev, false, budget());
}

/**
 * A trial α strictly inside the interval between lo.a and hi.a: the minimiser of the cubic through
 * both values and slopes (N&W eq. 3.59), else of the quadratic through lo's value and slope and
 * hi's value, else the midpoint; kept 10 % away from either end so the interval always shrinks.
 */
function interpolate(lo: Trial, hi: Trial): number {
  const a = lo.a;
  const b = hi.a;
  const left = Math.min(a, b);
  const width = Math.abs(b - a);
  let t = NaN;
  if (Number.isFinite(hi.v) && Number.isFinite(hi.dv)) {
    const d1 = lo.dv + hi.dv - 3 * (lo.v - hi.v) / (a - b);
    const disc = d1 * d1 - lo.dv * hi.dv;
    if (disc >= 0) {
      const d2 = Math.sign(b - a) * Math.sqrt(disc);
      t = b - (b - a) * (hi.dv + d2 - d1) / (hi.dv - lo.dv + 2 * d2);
    }
  }
  if (!Number.isFinite(t) && Number.isFinite(hi.v)) {
    const curv = 2 * (hi.v - lo.v - lo.dv * (b - a));
    if (curv > 0) t = a - lo.dv * (b - a) * (b - a) / curv;
  }
  if (!Number.isFinite(t)) return left + 0.5 * width;
  return Math.min(Math.max(t, left + 0.1 * width), left + 0.9 * width);
}
