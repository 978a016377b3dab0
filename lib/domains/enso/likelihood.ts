/**
 * A model's Kalman log-likelihood as functions of θ, all through the compiled evaluator, staged
 * (`stageInterpreted`: on f64 the first call records a trace and later calls replay it): value
 * and gradient (`loglikAndGrad`), the value alone (`forwardLoglik`, the forward-only replay every
 * gradient-free method and every score uses), the untraced value (`untracedLoglik`, for tests),
 * and the filter's one-step predictions. This module knows no optimizer and reads no file.
 */
import {
  interpret,
  interpretedValueAndGrad,
  type ProgramData,
  readProgram,
  stageInterpreted,
} from "../../dmci.ts";
import { runtimeFor } from "../../program.ts";
import type { Inputs } from "../../program.ts";
import type { Backend, StagedFunction } from "../../backend/backend.ts";
import { DmciError } from "../../errors.ts";
import { Pair } from "../../values.ts";
import { type EnsoModel, programText } from "./models.ts";

/** The log-likelihood of one model on one stretch of data. */
export interface Likelihood {
  readonly program: ProgramData;
  readonly inputs: Inputs;
  readonly backend: Backend;
  /** The starting point: the program's literals as written. */
  readonly theta0: Float64Array;
  /** The staged program (traced on f64 unless `trace: false`). */
  readonly staged: StagedFunction;
}

/**
 * The log-likelihood of `model` on `inputs` (from `modelInputs`), on `backend`.
 *
 * @example
 * ```ts
 * const lik = likelihood(await loadModel("ar1+noise"), modelInputs(data, 0, data.trainEnd), f64Backend);
 * ```
 */
export function likelihood(
  model: EnsoModel,
  inputs: Inputs,
  backend: Backend,
  options: { trace?: boolean } = {},
): Likelihood {
  const program = readProgram(programText(model, "loglik"), model.file);
  const staged = stageInterpreted(program, backend, { inputs, trace: options.trace ?? true });
  return { program, inputs, backend, theta0: Float64Array.from(program.theta0), staged };
}

/**
 * The log-likelihood at θ, forward only (no gradient tape): the staged forward replay on f64.
 * Every evaluation that needs no gradient goes through here.
 *
 * @example
 * ```ts
 * forwardLoglik(lik, lik.theta0); // a number
 * ```
 */
export function forwardLoglik(lik: Likelihood, theta: Float64Array): number {
  return lik.staged.forward(Array.from(theta)).value;
}

/**
 * The log-likelihood at θ by an untraced run of the evaluator (the reference the replays are
 * checked against).
 *
 * @example
 * ```ts
 * untracedLoglik(lik, lik.theta0) === forwardLoglik(lik, lik.theta0); // true on f64
 * ```
 */
export function untracedLoglik(lik: Likelihood, theta: Float64Array): number {
  const rt = runtimeFor(lik.backend);
  return lik.backend.run(
    (params) => scalar(lik.backend, interpret(lik.program, rt, params, { inputs: lik.inputs })),
    Array.from(theta),
  );
}

/**
 * The log-likelihood and its gradient at θ, through the evaluator (the staged replay on f64).
 *
 * @example
 * ```ts
 * const { value, grad } = loglikAndGrad(lik, lik.theta0);
 * ```
 */
export function loglikAndGrad(lik: Likelihood, theta: Float64Array): { value: number; grad: Float64Array } {
  const r = lik.staged.valueAndGrad(Array.from(theta));
  return { value: r.value, grad: Float64Array.from(r.grad as number[]) };
}

/**
 * The log-likelihood and its gradient by an untraced run of the evaluator.
 *
 * @example
 * ```ts
 * untracedLoglikAndGrad(lik, lik.theta0).grad; // equal to loglikAndGrad's on f64
 * ```
 */
export function untracedLoglikAndGrad(
  lik: Likelihood,
  theta: Float64Array,
): { value: number; grad: Float64Array } {
  const r = interpretedValueAndGrad(lik.program, lik.backend, {
    theta: Array.from(theta),
    inputs: lik.inputs,
  });
  return { value: r.value, grad: Float64Array.from(r.grad as number[]) };
}

function scalar(backend: Backend, v: unknown): number {
  if (typeof v === "number") return v;
  if (backend.isTensor(v)) return backend.toNumber(v);
  throw new DmciError("type", `the log-likelihood program returned a non-number`);
}

/** The filter's output per time step: its log-likelihood term and one-step prediction of y. */
export interface Predictions {
  readonly loglik: number[];
  readonly predicted: number[][];
}

/**
 * Runs the filter of `model` at θ over `inputs` and returns each step's log-likelihood term and
 * one-step prediction (forward only).
 *
 * @example
 * ```ts
 * const { loglik, predicted } = predictions(model, modelInputs(data, 0, data.rows.length), f64Backend, theta);
 * ```
 */
export function predictions(
  model: EnsoModel,
  inputs: Inputs,
  backend: Backend,
  theta: Float64Array,
): Predictions {
  const program = readProgram(programText(model, "predictions"), model.file);
  const rt = runtimeFor(backend);
  return backend.run((params) => {
    const out: Predictions = { loglik: [], predicted: [] };
    for (let list = interpret(program, rt, params, { inputs }); list instanceof Pair; list = list.cdr) {
      const step = list.car as Pair;
      out.loglik.push(scalar(backend, step.car));
      const y = backend.toNested(step.cdr);
      out.predicted.push(Array.isArray(y) ? (y as number[]) : [y as number]);
    }
    return out;
  }, Array.from(theta));
}
