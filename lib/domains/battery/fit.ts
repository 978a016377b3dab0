/**
 * Fitting a battery model to many cells at once, through the evaluator (interpreted mode). Cells
 * are padded into one [cells, 1, cycles] tensor and parameters are [cells, restarts, 1] tensors
 * (globals [1, restarts, 1]), so ONE interpretation inside ONE backend.valueAndGrad call per
 * optimizer round gives every cell and restart its loss and gradient. Two phases: globals (with
 * nuisance per-cell parameters) on training cells' full curves, then per-cell parameters on each
 * test cell's window with the globals fixed. This module does no I/O.
 */
import { DmciError } from "../../errors.ts";
import type { Backend, TensorData } from "../../backend/backend.ts";
import type { Limits, Runtime } from "../../compile/runtime.ts";
import { interpret } from "../../dmci.ts";
import { dThetaDu, toTheta, toU, type Transform } from "../../fit/params.ts";
import { type BatchEvaluation, batchLbfgs } from "../../fit/optim/batch_lbfgs.ts";
import { CYCLE_INPUT, type Model, type ModelParam } from "./model.ts";
import type { NormalisedCell } from "./protocol.ts";
import { fnv1a, uniform } from "../../random.ts";

/** How a fit runs. */
export interface FitSettings {
  readonly backend: Backend;
  readonly runtime: Runtime;
  /** Starts per fit (the literals as written, then random ones). */
  readonly restarts: number;
  readonly seed: number;
  /** Most batched evaluations per fit. */
  readonly maxRounds: number;
  /** Trace and replay the batched objective on f64 (default true; `--no-trace` sets false). */
  readonly trace?: boolean;
  /** Limits of every run (default DEFAULT_LIMITS). */
  readonly limits?: Partial<Limits>;
}

/** Cells' rows padded into one batch. */
interface Batch {
  readonly C: number;
  readonly T: number;
  /** [C, 1, T]; a short cell's padding repeats its last cycle (so the model stays finite there). */
  readonly cycle: TensorData;
  /** Targets, [C, 1, T] row-major. */
  readonly y: Float64Array;
  /** 1/rows on a cell's rows, 0 on padding: Σ w·r² is each cell's mean squared error. */
  readonly w: Float64Array;
}

function makeBatch(cells: readonly NormalisedCell[], rows: readonly number[]): Batch {
  const C = cells.length, T = Math.max(...rows);
  const cycle = new Float64Array(C * T), y = new Float64Array(C * T), w = new Float64Array(C * T);
  cells.forEach((cell, c) => {
    const n = rows[c];
    for (let t = 0; t < T; t++) {
      const i = Math.min(t, n - 1);
      cycle[c * T + t] = cell.cycle[i];
      y[c * T + t] = cell.y[i];
      w[c * T + t] = t < n ? 1 / n : 0;
    }
  });
  return { C, T, cycle: { shape: [C, 1, T], data: cycle }, y, w };
}

/** Runs the model once on the batch: params are backend values (numbers or tensors). */
function runModel(
  model: Model,
  rt: Runtime,
  params: readonly unknown[],
  cycle: TensorData,
  limits?: Partial<Limits>,
): unknown {
  return interpret(model.program, rt, params, { inputs: { [CYCLE_INPUT]: cycle }, limits });
}

/** The shape of a backend value, or null when it is not a number. */
function shapeOf(B: Backend, v: unknown): number[] | null {
  return typeof v === "number" ? [] : B.isTensor(v) ? B.shape(v) : null;
}

function shapeError(model: Model, got: number[] | null, want: number[]): DmciError {
  return new DmciError(
    "type",
    `${model.file}: the model's value must be the capacity at each cycle, elementwise in \`${CYCLE_INPUT}\` ` +
      `(the benchmark runs all cells and restarts at once, with ${CYCLE_INPUT} of shape [cells, 1, cycles]); ` +
      `expected shape [${want}], got ${got ? `[${got}]` : "a non-number"}`,
  );
}

/**
 * Prepares a model on a runtime, once. First a run with scalar parameters, which makes the
 * evaluator analyse the program once up front (its errors then surface before any fit). Then a probe
 * that the value is elementwise in `cycle`, as batching needs: the first cell's first two
 * predictions must not change when a second cell and a third cycle are added.
 */
const prepared = new WeakMap<object, WeakSet<Runtime>>();
function warmUp(model: Model, s: FitSettings): void {
  let runtimes = prepared.get(model.program);
  if (runtimes?.has(s.runtime)) return;
  const B = s.backend;
  const probe = (cycles: number[][]): number[] =>
    B.run((ps) => {
      const [C, T] = [cycles.length, cycles[0].length];
      const v = runModel(model, s.runtime, ps, {
        shape: [C, 1, T],
        data: Float64Array.from(cycles.flat()),
      }, s.limits);
      const full = B.binary("add", v, B.fill([C, 1, T], 0));
      const shape = B.shape(full);
      if (shape.length !== 3 || shape[0] !== C || shape[1] !== 1 || shape[2] !== T) {
        throw shapeError(model, shapeOf(B, v), [C, 1, T]);
      }
      return (B.toNested(full) as number[][][]).flat(2);
    }, model.program.theta0);
  B.run(
    (ps) =>
      interpret(model.program, s.runtime, ps, {
        inputs: { [CYCLE_INPUT]: Float64Array.of(1) },
        limits: s.limits,
      }),
    model.program.theta0,
  );
  const alone = probe([[100, 200]]), batched = probe([[100, 200, 300], [400, 500, 600]]);
  const same = (a: number, b: number) =>
    a === b || (Number.isNaN(a) && Number.isNaN(b)) ||
    Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
  if (!same(alone[0], batched[0]) || !same(alone[1], batched[1])) {
    throw new DmciError(
      "type",
      `${model.file}: the model's value must be elementwise in \`${CYCLE_INPUT}\`: the prediction at a cycle ` +
        "may depend only on that cycle and the parameters (the benchmark runs all cells and restarts at once, " +
        `with ${CYCLE_INPUT} of shape [cells, 1, cycles]), but it changed when other cycles were added`,
    );
  }
  if (!runtimes) prepared.set(model.program, runtimes = new WeakSet());
  runtimes.add(s.runtime);
}

/** One parameter tensor of a batched fit: which program parameter, its shape, and where its elements live in x. */
interface Leaf {
  readonly param: number;
  readonly transform: Transform;
  /** [A, R, 1] with A = cells (per-cell) or 1 (global). */
  readonly shape: [number, number, 1];
  /** Offset in x of each element (a, r) = a·R + r. */
  readonly at: Int32Array;
}

/** A batched problem set: K problems of d variables; leaves map x into the program's parameters. */
interface Layout {
  readonly K: number;
  readonly d: number;
  readonly leaves: Leaf[];
  /** Program parameters held fixed (globals in the per-cell phase), by index. */
  readonly fixed: Map<number, number>;
  /** "restart": problem r sums the mean squared error over cells; "cell": problem (c, r) is one cell. */
  readonly problem: "restart" | "cell";
}

/**
 * The batched objective: x (problem-major, u space) → each problem's mean squared error and its
 * gradient, from ONE valueAndGrad call of the interpreted program on the whole batch.
 */
function objective(model: Model, s: FitSettings, batch: Batch, layout: Layout, R: number) {
  const B = s.backend;
  const n = model.params.length;
  const staged = B.stage((leaves) => {
    const ps: unknown[] = new Array(n);
    layout.fixed.forEach((v, j) => ps[j] = v);
    layout.leaves.forEach((leaf, i) => ps[leaf.param] = leaves[i]);
    const v = runModel(model, s.runtime, ps, batch.cycle, s.limits);
    const y = B.reshape(B.tensor(Array.from(batch.y)), [batch.C, 1, batch.T]);
    const w = B.reshape(B.tensor(Array.from(batch.w)), [batch.C, 1, batch.T]);
    const shape = shapeOf(B, v);
    if (shape === null) throw shapeError(model, shape, [batch.C, R, batch.T]);
    const res = B.binary("sub", v, y);
    const rs = B.shape(res);
    if (rs.length !== 3 || rs[0] !== batch.C || rs[1] !== R || rs[2] !== batch.T) {
      throw shapeError(model, shape, [batch.C, R, batch.T]);
    }
    const perCell = B.sum(B.binary("mul", B.unary("square", res), w), 2); // [C, R]
    const per = layout.problem === "restart" ? B.mean(perCell, 0) : B.reshape(perCell, [batch.C * R]);
    return { value: B.sum(per), aux: per };
  }, { trace: s.trace });
  return (x: Float64Array): BatchEvaluation => {
    const theta: TensorData[] = layout.leaves.map((leaf) => ({
      shape: leaf.shape,
      data: Float64Array.from(leaf.at, (i) => toTheta(leaf.transform, x[i])),
    }));
    const r = staged.valueAndGrad(theta);
    const values = r.aux!;
    const grads = new Float64Array(layout.K * layout.d);
    layout.leaves.forEach((leaf, i) => {
      const g = (r.grad[i] as TensorData).data;
      leaf.at.forEach((xi, e) => grads[xi] = g[e] * dThetaDu(leaf.transform, x[xi]));
    });
    return { values, grads };
  };
}

/** A start in u space for restart `r` ≥ 1: from the parameter's start range, or the literal jittered. */
function randomStart(p: ModelParam, rand: () => number): number {
  const t = p.transform;
  const normal = () => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
  if (p.start) {
    const [lo, hi] = p.start;
    let v = t.kind === "positive" && lo > 0
      ? lo * Math.exp(rand() * Math.log(hi / lo))
      : lo + rand() * (hi - lo);
    if (t.kind === "bounded") {
      const margin = 1e-3 * (t.upper - t.lower);
      v = Math.min(t.upper - margin, Math.max(t.lower + margin, v));
    } else if (t.kind === "positive" && !(v > 0)) v = p.init;
    return toU(t, v, p.name);
  }
  const u = toU(t, p.init, p.name);
  return u +
    (t.kind === "free" ? 0.5 * Math.max(1, Math.abs(u)) : t.kind === "positive" ? 0.7 : 1) * normal();
}

/** What a batched fit found for each problem's best restart. */
export interface PhaseResult {
  readonly seconds: number;
  readonly rounds: number;
}

/** The globals fitted on training cells. */
export interface GlobalFit extends PhaseResult {
  /** θ of each global parameter by name. */
  readonly globals: Record<string, number>;
  /** Median over training cells of each per-cell parameter's fitted θ (a start for test cells). */
  readonly perCellMedian: Record<string, number>;
  /** Mean over training cells of the mean squared error at the best restart. */
  readonly mse: number;
  readonly converged: boolean;
  readonly reason: string;
  readonly cells: string[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Fits the model's global parameters (with each training cell's per-cell parameters as nuisance
 * parameters) on the training cells' full curves: one problem per restart, whose loss is the mean
 * over cells of each cell's mean squared error; the best restart wins.
 */
export function fitGlobals(model: Model, s: FitSettings, cells: readonly NormalisedCell[]): GlobalFit {
  const t0 = performance.now();
  warmUp(model, s);
  const R = s.restarts, C = cells.length;
  const batch = makeBatch(cells, cells.map((c) => c.y.length));
  const globals = model.params.map((p, j) => [p, j] as const).filter(([p]) => p.global);
  const locals = model.params.map((p, j) => [p, j] as const).filter(([p]) => !p.global);
  const d = globals.length + locals.length * C;
  // Problem r: [globals…, local₀ of cells 0…C−1, local₁ …].
  const leaves: Leaf[] = [
    ...globals.map(([p, j], g): Leaf => ({
      param: j,
      transform: p.transform,
      shape: [1, R, 1],
      at: Int32Array.from({ length: R }, (_, r) => r * d + g),
    })),
    ...locals.map(([p, j], l): Leaf => ({
      param: j,
      transform: p.transform,
      shape: [C, R, 1],
      at: Int32Array.from({ length: C * R }, (_, e) => {
        const c = Math.floor(e / R), r = e % R;
        return r * d + globals.length + l * C + c;
      }),
    })),
  ];
  const layout: Layout = { K: R, d, leaves, fixed: new Map(), problem: "restart" };
  const rand = uniform(s.seed ^ fnv1a(`${model.name} globals`));
  const x0 = new Float64Array(R * d);
  for (const leaf of leaves) {
    const p = model.params[leaf.param];
    leaf.at.forEach((xi) =>
      x0[xi] = Math.floor(xi / d) === 0 ? toU(p.transform, p.init, p.name) : randomStart(p, rand)
    );
  }
  const result = batchLbfgs(objective(model, s, batch, layout, R), x0, R, d, { maxRounds: s.maxRounds });
  const best = argmin(result.values);
  const xb = result.x.subarray(best * d, (best + 1) * d);
  return {
    globals: Object.fromEntries(globals.map(([p], g) => [p.name, toTheta(p.transform, xb[g])])),
    perCellMedian: Object.fromEntries(
      locals.map(([p], l) => [
        p.name,
        median(cells.map((_, c) => toTheta(p.transform, xb[globals.length + l * C + c]))),
      ]),
    ),
    mse: result.values[best],
    converged: result.runs[best].converged,
    reason: result.runs[best].reason,
    cells: cells.map((c) => c.name),
    seconds: (performance.now() - t0) / 1000,
    rounds: result.rounds,
  };
}

function argmin(v: Float64Array): number {
  let best = 0;
  v.forEach((x, k) => {
    if (x < v[best] || !Number.isFinite(v[best])) best = k;
  });
  return best;
}

/** Per-cell fits of test cells' windows. */
export interface CellFits extends PhaseResult {
  /** For each cell, θ of every program parameter (globals included), in program order. */
  readonly theta: number[][];
  /** For each cell, the mean squared error on its window at its best restart. */
  readonly mse: number[];
  readonly converged: boolean[];
  readonly reasons: string[];
}

/**
 * Fits each cell's per-cell parameters on its first `rows[c]` rows, the globals fixed at
 * `globals` (every parameter is per-cell for a model without globals): one problem per cell and
 * restart, all in one batch. Starts: the literals, then (given `hint`) the training cells'
 * medians, then random ones; each cell keeps its best restart.
 */
export function fitCells(
  model: Model,
  s: FitSettings,
  cells: readonly NormalisedCell[],
  rows: readonly number[],
  globals: Record<string, number>,
  hint?: Record<string, number>,
  label = "cells",
): CellFits {
  const t0 = performance.now();
  warmUp(model, s);
  const R = s.restarts, C = cells.length;
  const batch = makeBatch(cells, rows);
  const fixed = new Map<number, number>();
  model.params.forEach((p, j) => {
    if (p.global) fixed.set(j, globals[p.name]);
  });
  const locals = model.params.map((p, j) => [p, j] as const).filter(([p]) => !p.global);
  const d = locals.length, K = C * R;
  const leaves = locals.map(([p, j], l): Leaf => ({
    param: j,
    transform: p.transform,
    shape: [C, R, 1],
    at: Int32Array.from({ length: K }, (_, e) => e * d + l),
  }));
  const rand = uniform(s.seed ^ fnv1a(`${model.name} ${label}`));
  const x0 = new Float64Array(K * d);
  for (let k = 0; k < K; k++) {
    const r = k % R;
    locals.forEach(([p], l) => {
      const h = hint?.[p.name];
      x0[k * d + l] = r === 0
        ? toU(p.transform, p.init, p.name)
        : r === 1 && h !== undefined && Number.isFinite(h) && startable(p.transform, h)
        ? toU(p.transform, h, p.name)
        : randomStart(p, rand);
    });
  }
  const result = d === 0
    ? null
    : batchLbfgs(objective(model, s, batch, { K, d, leaves, fixed, problem: "cell" }, R), x0, K, d, {
      maxRounds: s.maxRounds,
    });
  const theta: number[][] = [], mse: number[] = [], converged: boolean[] = [], reasons: string[] = [];
  for (let c = 0; c < C; c++) {
    const best = result ? c * R + argmin(result.values.subarray(c * R, (c + 1) * R)) : 0;
    const th = model.params.map((p) => globals[p.name] ?? p.init);
    locals.forEach(([p, j], l) => th[j] = toTheta(p.transform, result ? result.x[best * d + l] : x0[l]));
    theta.push(th);
    mse.push(result ? result.values[best] : NaN);
    converged.push(result ? result.runs[best].converged : true);
    reasons.push(result ? result.runs[best].reason : "nothing to fit");
  }
  return {
    theta,
    mse,
    converged,
    reasons,
    seconds: (performance.now() - t0) / 1000,
    rounds: result?.rounds ?? 0,
  };
}

/** True when θ lies strictly inside the transform's domain. */
function startable(t: Transform, v: number): boolean {
  return t.kind === "free" || (t.kind === "positive" ? v > 0 : v > t.lower && v < t.upper);
}

/**
 * The model's prediction for every recorded row of each cell, at that cell's θ (one batched
 * forward run: parameters [cells, 1, 1]).
 */
export function predictCells(
  model: Model,
  s: FitSettings,
  cells: readonly NormalisedCell[],
  theta: readonly number[][],
): Float64Array[] {
  warmUp(model, s);
  const B = s.backend;
  const batch = makeBatch(cells, cells.map((c) => c.y.length));
  const C = cells.length;
  const params = model.params.map((_, j): TensorData => ({
    shape: [C, 1, 1],
    data: Float64Array.from(theta, (th) => th[j]),
  }));
  const flat = B.run((ps) => {
    const v = runModel(model, s.runtime, ps, batch.cycle, s.limits);
    const shape = shapeOf(B, v);
    const full = B.binary("add", v, B.fill([C, 1, batch.T], 0));
    const fs = B.shape(full);
    if (fs.length !== 3 || fs[0] !== C || fs[1] !== 1 || fs[2] !== batch.T) {
      throw shapeError(model, shape, [C, 1, batch.T]);
    }
    return Float64Array.from((B.toNested(full) as number[][][]).flat(2));
  }, params);
  return cells.map((cell, c) => flat.slice(c * batch.T, c * batch.T + cell.y.length));
}
