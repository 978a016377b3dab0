/**
 * The messages between the job runner and a job's worker (lib/server/worker.ts): what to run,
 * and what the worker reports back. Plain data only (structured clone).
 */
import type { FitErrorRecord, FitProgressRecord, FitRequest } from "./store.ts";

/** Value and gradient of a program at θ (POST /v1/eval). */
export interface EvalRequest {
  /** The program's Scheme text. */
  readonly program: string;
  /** θ, one number per parameter (default: the literals as written). */
  readonly theta?: readonly number[];
  /** Inputs bound as globals: numbers or arrays of numbers. */
  readonly inputs?: Readonly<Record<string, number | readonly number[]>>;
  readonly mode: "direct" | "interpreted";
  readonly backend: "f64" | "tfjs";
  /** Fuel and tensor size (the wall time is the runner's). */
  readonly fuel: number;
  readonly maxTensorSize: number;
}

/** The value and gradient of an evaluation. */
export interface EvalResult {
  readonly value: number;
  /** One entry per parameter: a number, or a tensor as {shape, data}. */
  readonly gradient: (number | { shape: number[]; data: number[] })[];
  readonly params: string[];
}

/** Runner → worker. */
export type JobMessage =
  | { readonly kind: "fit"; readonly request: FitRequest }
  | { readonly kind: "eval"; readonly request: EvalRequest };

/** Worker → runner. */
export type WorkerReport =
  | { readonly type: "progress"; readonly progress: FitProgressRecord }
  | { readonly type: "done"; readonly result: Record<string, unknown>; readonly svg: string | null }
  | { readonly type: "evaluated"; readonly result: EvalResult }
  | { readonly type: "error"; readonly error: FitErrorRecord };
