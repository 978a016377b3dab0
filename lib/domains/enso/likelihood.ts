/**
 * A model's Kalman log-likelihood as functions of θ, all through the compiled evaluator: value and
 * gradient (`interpretedValueAndGrad`), the value alone (`forwardLoglik`, the one forward-only
 * path every gradient-free method and every score uses), and the filter's one-step predictions.
 * This module knows no optimizer and reads no file.
 */
import { interpret, interpretedValueAndGrad, type ProgramData, readProgram } from "../../dmci.ts";
import { runtimeFor } from "../../program.ts";
import type { Inputs } from "../../program.ts";
import type { Backend } from "../../backend/backend.ts";
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
}

/**
 * The log-likelihood of `model` on `inputs` (from `modelInputs`), on `backend`.
 *
 * @example
 * ```ts
 * const lik = likelihood(await loadModel("ar1+noise"), modelInputs(data, 0, data.trainEnd), f64Backend);
 * ```
 */
export function likelihood(model: EnsoModel, inputs: Inputs, backend: Backend): Likelihood {
  const program = readProgram(programText(model, "loglik"), model.file);
  return { program, inputs, backend, theta0: Float64Array.from(program.theta0) };
}

/**
 * The log-likelihood at θ, forward only (no gradient tape). Every evaluation that needs no
 * gradient goes through here, so that a faster forward path is a change of this one function.
 *
 * @example
 * ```ts
 * forwardLoglik(lik, lik.theta0); // a number
 * ```
 */
export function forwardLoglik(lik: Likelihood, theta: Float64Array): number {
  const rt = runtimeFor(lik.backend);
  return lik.backend.run(
    (params) => scalar(lik.backend, interpret(lik.program, rt, params, { inputs: lik.inputs })),
    Array.from(theta),
  );
}

/**
 * The log-likelihood and its gradient at θ, through the evaluator.
 *
 * @example
 * ```ts
 * const { value, grad } = loglikAndGrad(lik, lik.theta0);
 * ```
 */
export function loglikAndGrad(lik: Likelihood, theta: Float64Array): { value: number; grad: Float64Array } {
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
