/**
 * The verification suite behind `verify` (DESIGN §5): for each program and seed, value and
 * gradient computed directly and through the compiled evaluator must agree, and the f64
 * gradient must agree with float64 central differences. It reports; it never throws for a
 * program's own failure (that is a pair with ok=false), and it prints nothing itself.
 */
import { fnv1a, uniform } from "./random.ts";
import { DmciError } from "./errors.ts";
import type { Backend, ParamValue, ValueAndGrad } from "./backend/backend.ts";
import { execute, type Inputs, loadProgram, type Program, type RunOptions, runtimeFor } from "./program.ts";
import { interpret } from "./dmci.ts";

/**
 * Tolerances of `ok` (README "Verification"). Every comparison uses `relativeDiff`:
 * |a_i − b_i| / max(|a_i|, |b_i|, FLOOR · max_j max(|a_j|, |b_j|)), so a component far
 * below the gradient's own scale is judged against that scale, not against itself.
 */
export const TOLERANCES = {
  /** Interpreted vs direct (value and gradient) on a float32 backend (tfjs, tfjs-wasm). */
  interpFloat32: 1e-5,
  /** Interpreted vs direct (value and gradient) on the f64 backend. */
  interpF64: 1e-12,
  /** Float64 central differences vs the f64 gradient. */
  fd: 1e-6,
  /** Relative floor of the denominator, as a fraction of the vector's largest entry. */
  floor: 1e-3,
} as const;

/** Relative size of the seed perturbation: θᵢ·(1 + PERTURBATION·u), u ∈ [−1, 1]. */
export const PERTURBATION = 0.1;

/** Value and gradient of a program at θ on a backend (direct or interpreted execution). */
export type Executor = (prog: Program, backend: Backend, options?: RunOptions) => ValueAndGrad;

/** One (program, seed) check: the JSON shape of DESIGN §5, plus `error` when something raised. */
export interface VerifyPair {
  file: string;
  seed: number;
  n_params: number;
  params: string[];
  theta: number[];
  value_direct: number | null;
  value_interp: number | null;
  grad_direct: (number | null)[];
  grad_interp: (number | null)[];
  max_abs_grad_diff: number | null;
  max_rel_grad_diff: number | null;
  fd_max_rel_err: number | null;
  /** Traced replay of the interpreted run (f64): value, gradient, and how it ran (null: not traced). */
  value_traced: number | null;
  grad_traced: (number | null)[];
  /** Largest relative difference, value and gradient, of the traced vs the untraced interpreted run. */
  max_rel_trace_diff: number | null;
  /** `replayed` (a kept trace's guards held), `recorded` (a new trace), or null (not traced). */
  trace: "replayed" | "recorded" | null;
  ok: boolean;
  /** One line: what raised, and where. Present only when something did. */
  error?: string;
}

/** The whole report: `{"pairs": […], "summary": {pairs, passed, failed}}`. */
export interface VerifyReport {
  pairs: VerifyPair[];
  summary: { pairs: number; passed: number; failed: number };
}

/** Options of `verifyProgram` and `verifyPaths`. */
export interface VerifyOptions {
  /** Backend of the direct and interpreted runs. */
  readonly backend: Backend;
  /** The float64 backend, for the central-difference check (always f64). */
  readonly f64: Backend;
  /** Number of seeds: 0 … seeds−1 (default 1: the literals as written). */
  readonly seeds?: number;
  /** Interpreted execution (default: the frozen evaluator, lib/dmci.ts). Replaceable for tests. */
  readonly interpret?: Executor;
  /** Check the traced replay against the untraced interpreted run (default: on f64; false: `--no-trace`). */
  readonly trace?: boolean;
  /** Called after each program with its pairs (for progress and streaming output). */
  readonly onProgram?: (file: string, pairs: readonly VerifyPair[], index: number, total: number) => void;
}

/** Largest absolute and relative differences of two vectors (see `TOLERANCES`); NaN counts as Infinity. */
export function relativeDiff(a: readonly number[], b: readonly number[]): { maxAbs: number; maxRel: number } {
  if (a.length !== b.length) return { maxAbs: Infinity, maxRel: Infinity };
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]), Math.abs(b[i]));
  let maxAbs = 0, maxRel = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue; // also equal infinities
    const d = Math.abs(a[i] - b[i]);
    if (!Number.isFinite(d)) return { maxAbs: Infinity, maxRel: Infinity };
    const denom = Math.max(Math.abs(a[i]), Math.abs(b[i]), TOLERANCES.floor * scale);
    maxAbs = Math.max(maxAbs, d);
    maxRel = Math.max(maxRel, d / denom);
  }
  return { maxAbs, maxRel };
}

/** The interpreted-vs-direct tolerance of a backend: float64 is held to 1e-12, float32 to 1e-5. */
export function interpTolerance(backend: Backend): number {
  return backend.name === "f64" ? TOLERANCES.interpF64 : TOLERANCES.interpFloat32;
}

/**
 * θ for a seed: seed 0 is θ₀ itself; seed k > 0 multiplies each θᵢ by 1 + 0.1·u with u ∈ [−1, 1]
 * drawn from a hash of (base name of the file, k, i), so a run is reproducible anywhere.
 *
 * @example
 * ```ts
 * perturbedTheta("a.scm", 0, [0.5, 2]); // [0.5, 2]
 * perturbedTheta("a.scm", 1, [0.5, 2]); // each within 10% of θ₀, the same on every run
 * ```
 */
export function perturbedTheta(file: string, seed: number, theta0: readonly number[]): number[] {
  if (seed === 0) return theta0.slice();
  const base = file.split(/[\\/]/).pop() ?? file;
  return theta0.map((t, i) =>
    t * (1 + PERTURBATION * (2 * uniform(fnv1a(`${base}\u0000${seed}\u0000${i}`))() - 1))
  );
}

/** The header line of a verify program's test input: `; @input NAME V…`. */
const INPUT_DIRECTIVE = /^\s*;+\s*@input\b(.*)$/;

/**
 * The test inputs a verify program declares, one `; @input NAME V…` comment line each: one value
 * binds NAME to that number, several to a 1-D tensor of them (as a data column is bound). A
 * program with none gets undefined. A malformed line is a `spec` error at its line:col.
 *
 * @example
 * ```ts
 * declaredInputs("; @input cycle 50 300 800\n(* 2.0 cycle)", "m.scm"); // { cycle: [50, 300, 800] }
 * declaredInputs("; @input x 0.5\n(* 2.0 x)", "m.scm"); // { x: 0.5 }
 * ```
 */
export function declaredInputs(text: string, file: string): Record<string, number | number[]> | undefined {
  const out: Record<string, number | number[]> = {};
  let any = false;
  text.split(/\r\n|\n|\r/).forEach((line, i) => {
    const m = INPUT_DIRECTIVE.exec(line);
    if (!m) return;
    const span = { file, line: i + 1, col: line.indexOf("@input") + 1 };
    const fail = (what: string): never => {
      throw new DmciError("spec", `@input: ${what}; expected "; @input NAME V…" (numbers)`, span);
    };
    const [name, ...words] = m[1].trim().split(/\s+/).filter((w) => w !== "");
    if (!name) fail("no input name");
    if (name in out) fail(`${name} is given twice`);
    if (words.length === 0) fail(`no value for ${name}`);
    const values = words.map((w) => {
      const x = Number(w);
      return Number.isFinite(x) ? x : fail(`${JSON.stringify(w)} is not a number`);
    });
    out[name] = values.length === 1 ? values[0] : values;
    any = true;
  });
  return any ? out : undefined;
}

/**
 * The function of θ that verify differentiates: the program run directly or through the
 * evaluator, with its declared inputs bound. A program with declared inputs may return a tensor
 * (one value per input element, as a model of a data column does): its sum is the value checked.
 * Tests that compare runs of fixture programs use this, so that they bind the same inputs.
 *
 * @example
 * ```ts
 * import { f64Backend } from "./backend/f64/mod.ts";
 * const text = "; @input t 1 2\n(* 3.0 t)";
 * const f = verifyBody(loadProgram(text, "m.scm"), f64Backend, "direct", declaredInputs(text, "m.scm"));
 * f64Backend.valueAndGrad(f, prog.theta0); // { value: 9, grad: [3] }
 * ```
 */
export function verifyBody(
  prog: Program,
  backend: Backend,
  mode: "direct" | "interpreted",
  inputs?: Inputs,
): (params: unknown[]) => unknown {
  const rt = runtimeFor(backend);
  const total = (v: unknown) =>
    inputs !== undefined && backend.isTensor(v) && !backend.shape(v).every((d) => d === 1)
      ? backend.sum(v)
      : v;
  return mode === "direct"
    ? (params) => total(execute(prog, rt, params, undefined, inputs))
    : (params) => total(interpret(prog, rt, params, { inputs }));
}

/** A program's value as a number: a plain number or a one-element tensor, else a `type` error. */
function scalarOf(backend: Backend, v: unknown): number {
  if (typeof v === "number") return v;
  if (backend.isTensor(v) && backend.shape(v).every((d) => d === 1)) return backend.toNumber(v);
  throw new DmciError(
    "type",
    `verify: the program's value must be a real scalar, got ${runtimeFor(backend).write(v)}`,
  );
}

/** The program's value at θ on a backend (a forward run without gradients), its declared inputs bound. */
export function forwardValue(
  prog: Program,
  backend: Backend,
  theta: readonly number[],
  inputs?: Inputs,
): number {
  const body = verifyBody(prog, backend, "direct", inputs);
  return backend.run((params) => scalarOf(backend, body(params)), theta);
}

/** Step sizes of the central differences, as multiples of max(|θᵢ|, 1e-3), best first. */
const FD_STEPS = [1e-3, 1e-4, 1e-2, 1e-5, 1e-6];
/** A step whose error is already this small needs no further tries. */
const FD_GOOD_ENOUGH = 1e-10;
/**
 * Rounding noise of a central difference at step h, in units of ε·max|f|/h: the stencil's
 * weights sum to 18/12 in absolute value, and each forward value is allowed 100 ulps of
 * its own rounding error.
 */
const FD_NOISE = 1.5 * 100;

/**
 * Largest relative error of a float64 gradient against central differences of the forward
 * value on f64. Each component uses the fourth-order stencil
 * (−f(θ+2h) + 8f(θ+h) − 8f(θ−h) + f(θ−2h)) / 12h at the steps h = s·max(|θᵢ|, 1e-3),
 * s ∈ {1e-3, 1e-4, 1e-2, 1e-5, 1e-6}, and keeps the best agreement: the truncation and
 * rounding errors trade off differently per program, and a wrong gradient agrees at no step.
 * A step whose forward runs raise or give a non-finite value is skipped. A difference the
 * steps cannot resolve -- below the rounding noise FD_NOISE·ε·|f(θ)|/h at the largest
 * step h -- counts as agreement (the error is measured against that noise over the
 * tolerance): an exact gradient of a flat function, e.g. tanh at 12 (gradient 1.5e-10 on a
 * value near 1), passes, while a gradient wrong by more than that noise still fails.
 */
export function finiteDifferenceError(
  prog: Program,
  f64: Backend,
  theta: readonly number[],
  grad: readonly number[],
  inputs?: Inputs,
): number {
  let scale = 0;
  for (const g of grad) scale = Math.max(scale, Math.abs(g));
  const floor = TOLERANCES.floor * scale;
  const at = (i: number, x: number): number => {
    const t = theta.slice();
    t[i] = x;
    try {
      return forwardValue(prog, f64, t, inputs);
    } catch {
      return NaN;
    }
  };
  let worst = 0;
  for (let i = 0; i < theta.length; i++) {
    const a = Math.max(Math.abs(theta[i]), 1e-3);
    // The rounding noise at the largest step, the least any step has: a floor for all steps.
    const f0 = Math.abs(at(i, theta[i]));
    const noise = Number.isFinite(f0) ? FD_NOISE * Number.EPSILON * f0 / (Math.max(...FD_STEPS) * a) : 0;
    let best = Infinity;
    for (const s of FD_STEPS) {
      const h = s * a;
      const fd = (-at(i, theta[i] + 2 * h) + 8 * at(i, theta[i] + h) - 8 * at(i, theta[i] - h) +
        at(i, theta[i] - 2 * h)) /
        (12 * h);
      if (!Number.isFinite(fd)) continue;
      const d = Math.abs(fd - grad[i]);
      const err = d === 0 ? 0 : d / Math.max(Math.abs(fd), Math.abs(grad[i]), floor, noise / TOLERANCES.fd);
      best = Math.min(best, err);
      if (best <= FD_GOOD_ENOUGH) break;
    }
    worst = Math.max(worst, best);
    if (!Number.isFinite(worst)) break;
  }
  return worst;
}

/** Gradient entries as numbers (verify programs have scalar parameters only). */
function gradNumbers(g: readonly ParamValue[]): number[] {
  return g.map((x) => (typeof x === "number" ? x : x.data.length === 1 ? x.data[0] : NaN));
}

/** A JSON-safe number: NaN and infinities become null. */
function json(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** The one-line form of anything thrown. */
function oneLine(e: unknown, stage: string): string {
  const text = e instanceof DmciError
    ? e.toString()
    : e instanceof Error
    ? `internal error (${e.name}): ${e.message}`
    : `internal error: ${String(e)}`;
  return `${stage}: ${text.replace(/\s*\n\s*/g, " ")}`;
}

/**
 * Checks one program for each seed; never throws for the program's own failures (a read,
 * syntax or runtime error makes pairs with ok=false and an `error` line).
 *
 * @example
 * ```ts
 * import { f64Backend } from "./backend/f64/mod.ts";
 * const [pair] = verifyProgram("(define k 3.0) (* k k)", "sq.scm", { backend: f64Backend, f64: f64Backend });
 * pair.ok; // true
 * pair.grad_direct; // [6]
 * ```
 */
export function verifyProgram(text: string, file: string, options: VerifyOptions): VerifyPair[] {
  const seeds = options.seeds ?? 1;
  const tol = interpTolerance(options.backend);
  let prog: Program | undefined;
  let inputs: Inputs | undefined;
  let loadError: string | undefined;
  try {
    prog = loadProgram(text, file);
    inputs = declaredInputs(text, file);
  } catch (e) {
    prog = undefined;
    loadError = oneLine(e, "load");
  }
  const pairs: VerifyPair[] = [];
  const run = (backend: Backend, mode: "direct" | "interpreted", theta: readonly number[]) =>
    backend.valueAndGrad(verifyBody(prog!, backend, mode, inputs), theta);
  // One staged function per program: seeds k > 0 replay the seed-0 trace where its guards hold.
  const tracedBody = prog && options.backend.name === "f64" && options.trace !== false && !options.interpret
    ? verifyBody(prog, options.backend, "interpreted", inputs)
    : null;
  const staged = tracedBody ? options.backend.stage((params) => ({ value: tracedBody(params) })) : null;
  for (let seed = 0; seed < seeds; seed++) {
    const pair: VerifyPair = {
      file,
      seed,
      n_params: prog?.params.length ?? 0,
      params: prog?.params.map((p) => p.name) ?? [],
      theta: prog ? perturbedTheta(file, seed, prog.theta0) : [],
      value_direct: null,
      value_interp: null,
      grad_direct: [],
      grad_interp: [],
      max_abs_grad_diff: null,
      max_rel_grad_diff: null,
      fd_max_rel_err: null,
      value_traced: null,
      grad_traced: [],
      max_rel_trace_diff: null,
      trace: null,
      ok: false,
    };
    pairs.push(pair);
    if (!prog) {
      pair.error = loadError;
      continue;
    }
    const theta = pair.theta;
    let stage = "direct";
    try {
      const direct = run(options.backend, "direct", theta);
      const gd = gradNumbers(direct.grad);
      pair.value_direct = json(direct.value);
      pair.grad_direct = gd.map(json);
      stage = "interpreted";
      const interp = options.interpret
        ? options.interpret(prog, options.backend, { theta, inputs })
        : run(options.backend, "interpreted", theta);
      const gi = gradNumbers(interp.grad);
      pair.value_interp = json(interp.value);
      pair.grad_interp = gi.map(json);
      const { maxAbs, maxRel } = relativeDiff(gd, gi);
      pair.max_abs_grad_diff = json(maxAbs);
      pair.max_rel_grad_diff = json(maxRel);
      const valueDiff = relativeDiff([direct.value], [interp.value]).maxRel;
      let traceDiff = 0;
      if (staged !== null) {
        stage = "traced";
        const before = staged.stats().replays;
        const traced = staged.valueAndGrad(theta);
        const gt = gradNumbers(traced.grad);
        pair.value_traced = json(traced.value);
        pair.grad_traced = gt.map(json);
        pair.trace = staged.stats().replays > before ? "replayed" : "recorded";
        traceDiff = Math.max(
          relativeDiff([interp.value], [traced.value]).maxRel,
          relativeDiff(gi, gt).maxRel,
        );
        pair.max_rel_trace_diff = json(traceDiff);
      }
      stage = "finite differences";
      const g64 = options.backend === options.f64 ? gd : gradNumbers(run(options.f64, "direct", theta).grad);
      const fdErr = finiteDifferenceError(prog, options.f64, theta, g64, inputs);
      pair.fd_max_rel_err = json(fdErr);
      const finite = Number.isFinite(direct.value) && gd.every(Number.isFinite);
      pair.ok = finite && valueDiff <= tol && maxRel <= tol && fdErr <= TOLERANCES.fd &&
        traceDiff <= TOLERANCES.interpF64;
    } catch (e) {
      pair.ok = false;
      pair.error = oneLine(e, stage);
    }
  }
  return pairs;
}

/**
 * The `.scm` files named by paths: files as given, folders searched recursively; sorted,
 * without duplicates. An unreadable path is an `io` error.
 */
export async function collectPrograms(paths: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const p = `${dir.replace(/\/+$/, "")}/${entry.name}`;
      if (entry.isDirectory) await walk(p);
      else if (entry.name.endsWith(".scm")) found.add(p);
    }
  };
  for (const path of paths) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (e) {
      throw new DmciError("io", `cannot read ${path}: ${e instanceof Error ? e.message : e}`);
    }
    if (info.isDirectory) await walk(path);
    else found.add(path);
  }
  return [...found].sort();
}

/** Summary counts of pairs. */
export function summarize(pairs: readonly VerifyPair[]): VerifyReport["summary"] {
  const passed = pairs.filter((p) => p.ok).length;
  return { pairs: pairs.length, passed, failed: pairs.length - passed };
}

/**
 * Verifies every program named by paths (files, or folders searched recursively).
 *
 * @example
 * ```ts
 * import { f64Backend } from "./backend/f64/mod.ts";
 * const report = await verifyPaths(["fixtures/programs"], { backend: f64Backend, f64: f64Backend, seeds: 2 });
 * report.summary; // { pairs: …, passed: …, failed: 0 }
 * ```
 */
export async function verifyPaths(paths: readonly string[], options: VerifyOptions): Promise<VerifyReport> {
  const files = await collectPrograms(paths);
  const pairs: VerifyPair[] = [];
  for (let i = 0; i < files.length; i++) {
    let text: string;
    try {
      text = await Deno.readTextFile(files[i]);
    } catch (e) {
      throw new DmciError("io", `cannot read ${files[i]}: ${e instanceof Error ? e.message : e}`);
    }
    const mine = verifyProgram(text, files[i], options);
    pairs.push(...mine);
    options.onProgram?.(files[i], mine, i, files.length);
  }
  return { pairs, summary: summarize(pairs) };
}
