/**
 * The messages between the job runner and a job's worker (lib/server/worker.ts): what to run,
 * and what the worker reports back. Plain data only (structured clone).
 */
import type {
  FitErrorRecord,
  FitProgressRecord,
  FitRequest,
  SearchProgressRecord,
  SearchRequest,
} from "./store.ts";
import type { LlmOptions } from "../search/proposers/llm.ts";
import type { EvalRequest as CandidateRequest, Outcome } from "../search/cascade.ts";

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
  /** `llm`: the server's endpoint (from its environment; never stored with the job). */
  | { readonly kind: "search"; readonly request: SearchRequest; readonly llm?: LlmOptions }
  /** The outcomes of a search job's `evaluate` batch, from the runner's pool. */
  | { readonly kind: "outcomes"; readonly batch: number; readonly outcomes: Outcome[] }
  | { readonly kind: "eval"; readonly request: EvalRequest };

/** Worker → runner. */
export type WorkerReport =
  | { readonly type: "progress"; readonly progress: FitProgressRecord | SearchProgressRecord }
  | { readonly type: "done"; readonly result: Record<string, unknown>; readonly svg: string | null }
  | { readonly type: "evaluated"; readonly result: EvalResult }
  /**
   * A search job's candidates to calibrate: the runner evaluates them in its pool of workers with no
   * permissions (a worker without read access cannot start workers of its own) and answers `outcomes`.
   */
  | { readonly type: "evaluate"; readonly batch: number; readonly requests: CandidateRequest[] }
  | { readonly type: "error"; readonly error: FitErrorRecord };

/**
 * Candidates a search job calibrates at once (each in its own worker of the runner's pool). Here,
 * not in search_job.ts, so that the runner reads it without loading the search modules.
 */
export const SEARCH_JOB_WORKERS = 1;
