/**
 * Multi-start calibration of a fit problem: the starts (the given u first, then jittered ones),
 * and their optimisation, each an independent run, on tfjs in one batch (one program run per
 * round for every restart still running, lib/fit/optim/batch_lbfgs.ts) or else one at a time.
 * It picks the best restart; it computes no standard error and no metric.
 */
import { DmciError } from "../errors.ts";
import { normal } from "../random.ts";
import type { Backend } from "../backend/backend.ts";
import { type FitProblem, isFloat32, thetaOf } from "./problem.ts";
import { batchObjectiveOn, objectiveOn } from "./objective.ts";
import { type Method, minimize } from "./optim/mod.ts";
import { batchLbfgs } from "./optim/batch_lbfgs.ts";
import type { OptimResult, TracePoint } from "./optim/types.ts";

/** Smallest convergence tolerance float32 gradients can meet. */
const FLOAT32_TOLERANCE = 1e-6;
/** Batched rounds allowed per accepted step (line-search trials included). */
const BATCH_ROUNDS_PER_STEP = 20;

/**
 * `count` starts in u: `u0` itself, then `u0` jittered by a seeded Gaussian (scale 0.5·max(1,
 * |u|) for a free parameter, 0.5 in log space for a positive one and σ, 1 for a bounded one).
 *
 * @example
 * ```ts
 * const starts = restartStarts(problem, initialU(problem, split.train), 4, 0); // 4 starts, the first u0
 * ```
 */
export function restartStarts(p: FitProblem, u0: Float64Array, count: number, seed: number): Float64Array[] {
  const gaussian = normal(seed);
  const starts: Float64Array[] = [];
  for (let k = 0; k < count && p.nu > 0; k++) {
    starts.push(Float64Array.from(u0, (u, j) => {
      if (k === 0) return u;
      const t = j < p.free.length ? p.params[p.free[j]].transform : { kind: "positive" as const };
      const scale = t.kind === "free" ? 0.5 * Math.max(1, Math.abs(u)) : t.kind === "positive" ? 0.5 : 1;
      return u + scale * gaussian();
    }));
  }
  return starts;
}

/**
 * The tolerance a backend can meet: float32 gradients (tfjs) cannot resolve a 1e-9 relative
 * decrease, so it is raised to 1e-6 there, with a note saying so.
 *
 * @example
 * ```ts
 * effectiveTolerance(tfjsBackend, 1e-9); // { tolerance: 1e-6, note: "tolerance raised from 1e-9 …" }
 * ```
 */
export function effectiveTolerance(B: Backend, tolerance: number): { tolerance: number; note?: string } {
  if (!isFloat32(B) || tolerance >= FLOAT32_TOLERANCE) return { tolerance };
  return {
    tolerance: FLOAT32_TOLERANCE,
    note: `tolerance raised from ${tolerance} to ${FLOAT32_TOLERANCE}: ${B.name} computes in float32`,
  };
}

/**
 * How to calibrate.
 *
 * @example
 * ```ts
 * const o: CalibrateOptions = { method: "lbfgs", steps: 500, tolerance: 1e-9 };
 * ```
 */
export interface CalibrateOptions {
  readonly method: Method;
  /** Most accepted iterations per restart. */
  readonly steps: number;
  /** The optimizers' tolerance, as the spec gives it (widened on float32; see effectiveTolerance). */
  readonly tolerance: number;
  /** Adam's learning rate. */
  readonly learningRate?: number;
  /**
   * "auto" (default): batch the restarts when there are several, the method is L-BFGS and the
   * backend is float32 (tfjs, whose per-op cost hardly depends on size); "never": one at a time;
   * "always": batched whenever there are several L-BFGS restarts (for tests and benchmarks).
   */
  readonly batch?: "auto" | "always" | "never";
  /** Called with restart k's trace points as they are made. */
  readonly onStep?: (restart: number, p: TracePoint) => void;
}

/**
 * The outcome of a calibration.
 *
 * @example
 * ```ts
 * const c: Calibration = calibrate(problem, split.train, starts, { method: "lbfgs", steps: 500, tolerance: 1e-9 });
 * c.runs[c.best].x; // the best restart's u
 * ```
 */
export interface Calibration {
  /** One run per start, in the starts' order, each with its own iterations, trace and warnings. */
  readonly runs: OptimResult[];
  /** Index of the run with the lowest finite loss (0 when none is finite). */
  readonly best: number;
  /** Batched evaluations when the restarts ran as one batch, else null. */
  readonly rounds: number | null;
  /** The tolerance used (see effectiveTolerance). */
  readonly tolerance: number;
  /** Notes on how it ran: a raised tolerance, a fall-back to one restart at a time. */
  readonly notes: string[];
  readonly seconds: number;
}

/**
 * Optimises the problem's loss on `rows` from each of `starts` (u vectors; for a warm start, pass
 * `uOf(problem, θ)` first), mse as its profile likelihood. Throws a `type` error when the loss is
 * not finite at the first start (nothing can be fitted from there); a later start that is not
 * finite is reported as its run's reason. See CalibrateOptions for when the restarts are batched;
 * a program that cannot run batched falls back to one restart at a time, with a note.
 *
 * @example
 * ```ts
 * import { initialU } from "./problem.ts";
 * const starts = restartStarts(problem, initialU(problem, split.train), 3, 0);
 * const c = calibrate(problem, split.train, starts, { method: "lbfgs", steps: 500, tolerance: 1e-9 });
 * c.runs.map((r) => [r.value, r.iterations, r.converged]);
 * ```
 */
export function calibrate(
  p: FitProblem,
  rows: readonly number[],
  starts: readonly Float64Array[],
  o: CalibrateOptions,
): Calibration {
  const t0 = performance.now();
  const train = objectiveOn(p, rows, { profiled: true });
  if (starts.length > 0) {
    const first = train(starts[0]);
    if (!Number.isFinite(first.value)) {
      const theta = thetaOf(p, starts[0]);
      const at = p.params.map((q, i) => `${q.name}=${theta[i]}`).join(", ");
      throw new DmciError(
        "type",
        `the loss is ${first.value} at the initial parameters (${at}); check the program and the inits`,
        { file: p.program.file, line: 1, col: 1 },
      );
    }
  }
  const { tolerance, note } = effectiveTolerance(p.backend, o.tolerance);
  const notes = note ? [note] : [];
  const mode = o.batch ?? "auto";
  const batched = starts.length > 1 && o.method === "lbfgs" &&
    (mode === "always" || (mode === "auto" && isFloat32(p.backend)));
  let runs: OptimResult[] | null = null;
  let rounds: number | null = null;
  if (batched) {
    const R = starts.length, U0 = new Float64Array(R * p.nu);
    starts.forEach((s, r) => U0.set(s, r * p.nu));
    try {
      const res = batchLbfgs(batchObjectiveOn(p, rows, R), U0, R, p.nu, {
        steps: o.steps,
        maxRounds: BATCH_ROUNDS_PER_STEP * Math.max(1, o.steps),
        tolerance,
        gradientTolerance: tolerance,
        onStep: o.onStep,
      });
      runs = res.runs;
      rounds = res.rounds;
    } catch (e) {
      if (!(e instanceof DmciError) || e.kind !== "type") throw e;
      notes.push(`restarts ran one at a time: the program cannot run them batched (${e.message})`);
    }
  }
  runs ??= starts.map((start, k) =>
    minimize(o.method, train, start, {
      steps: o.steps,
      tolerance,
      learningRate: o.learningRate,
      onStep: (q) => o.onStep?.(k, q),
    })
  );
  let best = 0;
  runs.forEach((r, k) => {
    if (Number.isFinite(r.value) && !(r.value >= runs[best].value)) best = k;
  });
  return { runs, best, rounds, tolerance, notes, seconds: (performance.now() - t0) / 1000 };
}
