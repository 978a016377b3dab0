/**
 * A fit problem: one program on one backend, its parameters as the fit sees them (free, fixed,
 * transformed, and the noise scale a `gaussian-nll` loss adds), the table its inputs and target
 * come from, and the loss. The map between the optimizer's unconstrained vector u and θ lives
 * here. Later stages (objective, restarts, standard errors, metrics) take a problem and a row set;
 * this module runs nothing and reads no file.
 */
import { DmciError } from "../errors.ts";
import type { Backend } from "../backend/backend.ts";
import type { Limits, Runtime } from "../compile/runtime.ts";
import { interpret, type ProgramData } from "../dmci.ts";
import { execute, type Inputs, type Program, runtimeFor } from "../program.ts";
import type { Table } from "./data.ts";
import { type FitParam, fitParams, toTheta, toU } from "./params.ts";
import type { Spec } from "./spec.ts";

/** The parts of a spec a fit problem needs (a search candidate supplies these without a file). */
export type ModelSpec = Pick<Spec, "params" | "inputs" | "target" | "loss">;

/**
 * Everything the stages of a fit share.
 *
 * @example
 * ```ts
 * import { loadProgram } from "../program.ts";
 * import { backendByName } from "../backend/select.ts";
 * import { tableFromColumns } from "./data.ts";
 * const problem = fitProblem({
 *   backend: await backendByName("f64"),
 *   program: loadProgram("(define k 0.5) (exp (- (* k t)))", "decay.scm"),
 *   table: tableFromColumns({ t: [0, 1, 2, 3], y: [1, 0.6, 0.37, 0.22] }, ["t", "y"], "error"),
 *   spec: { params: { k: { transform: "positive" } }, inputs: { t: "t" }, target: "y", loss: { kind: "mse" } },
 * });
 * problem.nu; // 1: the optimizer sees one variable, u = log k
 * ```
 */
export interface FitProblem {
  readonly backend: Backend;
  readonly runtime: Runtime;
  /** The program: compiled for "direct" mode; the evaluator needs only its data (a search candidate). */
  readonly program: Program | ProgramData;
  readonly mode: "interpreted" | "direct";
  /** Limits of every run (fuel, depth; default DEFAULT_LIMITS). */
  readonly limits?: Partial<Limits>;
  readonly table: Table;
  /** Program variable ← data column, each bound as a tensor of the rows' values. */
  readonly inputs: Readonly<Record<string, string>>;
  /** The column the program's value predicts (none for a `program` loss). */
  readonly target: string | undefined;
  readonly loss: Spec["loss"];
  /** The program's parameters, in source order. */
  readonly params: readonly FitParam[];
  /** Indices into `params` of the free (not fixed) parameters: u's first entries, in order. */
  readonly free: readonly number[];
  /** A `gaussian-nll` loss fits a noise scale σ: u's last entry is log σ, θ's last entry σ. */
  readonly withSigma: boolean;
  /** Length of u: free parameters, and σ. */
  readonly nu: number;
  /** Trace and replay the objective on f64 (see lib/backend/f64/trace); false: `--no-trace`. */
  readonly trace: boolean;
}

/**
 * Makes the problem of fitting `program` to `table` as `spec` says. Throws a `spec` error when
 * `spec.params` names a parameter the program does not have.
 *
 * @example
 * ```ts
 * // see FitProblem's example
 * ```
 */
export function fitProblem(o: {
  readonly backend: Backend;
  readonly program: Program | ProgramData;
  readonly table: Table;
  readonly spec: ModelSpec;
  readonly mode?: "interpreted" | "direct";
  readonly runtime?: Runtime;
  readonly trace?: boolean;
  readonly limits?: Partial<Limits>;
}): FitProblem {
  const params = fitParams(o.spec, o.program.params);
  const free = params.map((p, i) => (p.fixed ? -1 : i)).filter((i) => i >= 0);
  const withSigma = o.spec.loss.kind === "gaussian-nll";
  for (const column of [...Object.values(o.spec.inputs), ...(o.spec.target ? [o.spec.target] : [])]) {
    if (!o.table.columns.has(column)) {
      throw new DmciError("data", `${o.table.source}: no column "${column}"`);
    }
  }
  return {
    backend: o.backend,
    runtime: o.runtime ?? runtimeFor(o.backend),
    program: o.program,
    mode: o.mode ?? "interpreted",
    limits: o.limits,
    table: o.table,
    inputs: o.spec.inputs,
    target: o.spec.target,
    loss: o.spec.loss,
    params,
    free,
    withSigma,
    nu: free.length + (withSigma ? 1 : 0),
    trace: o.trace ?? true,
  };
}

/**
 * True when the backend computes in float32 (tfjs): tolerances and finite-difference steps are
 * widened there.
 *
 * @example
 * ```ts
 * // isFloat32(problem.backend) === (problem.backend.name !== "f64")
 * ```
 */
export function isFloat32(B: Backend): boolean {
  return B.name !== "f64";
}

/**
 * θ from u: the program's parameters (fixed ones at their init), then σ when fitted.
 *
 * @example
 * ```ts
 * // for the decay problem: thetaOf(problem, Float64Array.of(Math.log(0.3))) → [0.3]
 * ```
 */
export function thetaOf(p: FitProblem, u: Float64Array): number[] {
  const theta = p.params.map((q) => q.init);
  p.free.forEach((i, j) => theta[i] = toTheta(p.params[i].transform, u[j]));
  if (p.withSigma) theta.push(Math.exp(u[p.free.length]));
  return theta;
}

/**
 * u from θ (a warm start): the free parameters' entries of `theta` (program order; fixed entries
 * are ignored), then σ when fitted and given (else `sigma`, else 1). Throws a `spec` error when a
 * value lies outside its transform's domain.
 *
 * @example
 * ```ts
 * // uOf(problem, [0.3]) → Float64Array [log 0.3]; thetaOf(problem, uOf(problem, θ)) ≈ θ
 * ```
 */
export function uOf(p: FitProblem, theta: readonly number[], sigma?: number): Float64Array {
  const u = new Float64Array(p.nu);
  p.free.forEach((i, j) => u[j] = toU(p.params[i].transform, theta[i], p.params[i].name));
  if (p.withSigma) {
    const s = theta[p.params.length] ?? sigma ?? 1;
    if (!(s > 0)) throw new DmciError("spec", `the noise scale sigma must be > 0, got ${s}`);
    u[p.free.length] = Math.log(s);
  }
  return u;
}

/**
 * The start the spec gives: every parameter at its init and, when σ is fitted, σ at the loss's
 * `sigma_init` or the standard deviation of the target on `rows`.
 *
 * @example
 * ```ts
 * // initialU(problem, [0, 1, 2, 3]) → u of the inits
 * ```
 */
export function initialU(p: FitProblem, rows: readonly number[]): Float64Array {
  const theta = p.params.map((q) => q.init);
  if (!p.withSigma) return uOf(p, theta);
  const y = columnsOf(p, rows).y!;
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  const sd = Math.sqrt(y.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, y.length - 1)) || 1;
  const init = p.loss.kind === "gaussian-nll" && p.loss.sigma_init ? p.loss.sigma_init : sd;
  return uOf(p, theta, init);
}

/**
 * The program's inputs (each a column of the rows' values) and the target's values on `rows`.
 *
 * @example
 * ```ts
 * // columnsOf(problem, [1, 2]) → { inputs: { t: Float64Array [1, 2] }, y: Float64Array [0.6, 0.37] }
 * ```
 */
export function columnsOf(
  p: FitProblem,
  rows: readonly number[],
): { inputs: Inputs; y: Float64Array | null } {
  const pick = (name: string) => {
    const col = p.table.columns.get(name)!;
    return Float64Array.from(rows, (r) => col[r]);
  };
  return {
    inputs: Object.fromEntries(Object.entries(p.inputs).map(([v, c]) => [v, pick(c)])),
    y: p.target === undefined ? null : pick(p.target),
  };
}

/**
 * Runs the program once, direct or through the evaluator as the problem says, with the
 * program's parameters `ps` (backend values: numbers, or tensors for batched restarts). Call it
 * inside a backend scope (`run` or `valueAndGrad`).
 *
 * @example
 * ```ts
 * // problem.backend.run((ps) => runModel(problem, ps, columnsOf(problem, rows).inputs), [0.5])
 * ```
 */
export function runModel(p: FitProblem, ps: readonly unknown[], inputs: Inputs): unknown {
  if (p.mode === "interpreted") return interpret(p.program, p.runtime, ps, { inputs, limits: p.limits });
  if (!("code" in p.program)) {
    throw new DmciError("spec", `${p.program.file}: "direct" mode needs a compiled program (loadProgram)`);
  }
  return execute(p.program, p.runtime, ps, p.limits, inputs);
}
