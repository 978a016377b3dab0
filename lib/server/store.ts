/**
 * The job store: what a job is (a fit or a search: its request, status, progress, result or
 * error) and the small interface the routes and the job runner use to keep it. lib/server/sqlite_store.ts implements
 * it on `node:sqlite` for one server process; a shared database for several processes would be
 * another implementation of the same interface, with no change to the routes.
 */
import type { LoadedSpec } from "../fit/spec.ts";
import type { LoadedSearch } from "../search/spec.ts";
import type { TaskMaterial } from "../search/tasks/mod.ts";

/** What a job runs: a fit (POST /v1/fits) or a program search (POST /v1/searches). */
export type JobKind = "fit" | "search";

/** A job's state. `done`, `failed` and `cancelled` are final. */
export type FitStatus = "queued" | "running" | "done" | "failed" | "cancelled";

/** The final states. */
export const FINAL_STATUSES: readonly FitStatus[] = ["done", "failed", "cancelled"];

/** True for a final state. */
export function isFinal(status: FitStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** The last progress a running fit reported. */
export interface FitProgressRecord {
  readonly restart: number;
  readonly restarts: number;
  readonly step: number;
  readonly steps: number;
  /** The loss (null when not finite: JSON has no NaN). */
  readonly loss: number | null;
}

/** The last progress a running search reported. */
export interface SearchProgressRecord {
  /** Candidates evaluated so far, of `budget`. */
  readonly evaluations: number;
  readonly budget: number;
  /** The best score so far (lower is better), its complexity and database id (null: none accepted yet). */
  readonly best: number | null;
  readonly complexity: number | null;
  readonly bestId: string | null;
  /** Candidates rejected so far. */
  readonly rejected: number;
  /** Seconds since the search started. */
  readonly seconds: number;
}

/** A failure as the API reports it: the DmciError's kind, message and place. */
export interface FitErrorRecord {
  readonly kind: string;
  readonly message: string;
  /** `file:line:col`, when known. */
  readonly place: string | null;
}

/** The limits one job runs under. */
export interface JobLimits {
  /** Wall-clock seconds before the worker is terminated. */
  readonly seconds: number;
  /** Evaluation steps per run of the program. */
  readonly fuel: number;
  /** Largest number of elements of a tensor. */
  readonly maxTensorSize: number;
}

/** What a job fits: the spec with its program text and inline data (no file is read again). */
export interface FitRequest {
  readonly kind?: "fit";
  readonly loaded: LoadedSpec;
  readonly limits: JobLimits;
}

/**
 * What a search job runs: the search spec (data inline, seeds as text), the task's material made
 * when it was submitted (no file is read again), and its budget within the server's bounds.
 */
export interface SearchRequest {
  readonly kind: "search";
  readonly loaded: LoadedSearch;
  readonly material: TaskMaterial;
  /** Budget: candidates, and wall-clock minutes (null: none beyond the job's time limit). */
  readonly evaluations: number;
  readonly minutes: number | null;
  readonly seed: number;
  readonly proposer: "mutate" | "llm";
  readonly limits: JobLimits;
}

/** A job's request. */
export type JobRequest = FitRequest | SearchRequest;

/** The kind of a request. */
export function kindOf(request: JobRequest): JobKind {
  return request.kind === "search" ? "search" : "fit";
}

/** A job as stored. */
export interface FitRecord {
  readonly id: string;
  readonly kind: JobKind;
  /** The spec's name. */
  readonly name: string;
  readonly status: FitStatus;
  /** ISO times. */
  readonly created: string;
  readonly started: string | null;
  readonly finished: string | null;
  readonly progress: FitProgressRecord | SearchProgressRecord | null;
  /** The results document (as `deno task fit --json` or `search --json` prints it) of a `done` job. */
  readonly result: Record<string, unknown> | null;
  readonly error: FitErrorRecord | null;
  /** How many times the job was started (a restart after a crash starts it again). */
  readonly attempts: number;
}

/** One page of the list, newest first; `next` is the cursor of the following page. */
export interface FitPage {
  readonly items: FitRecord[];
  readonly next: string | null;
}

/**
 * Where jobs are kept. Every method's effect is durable once its promise resolves.
 */
export interface FitStore {
  /** Adds a queued job (its kind is its request's). */
  create(id: string, request: JobRequest): Promise<FitRecord>;
  /** The job, or undefined. */
  get(id: string): Promise<FitRecord | undefined>;
  /** The job's request (for the runner). */
  request(id: string): Promise<JobRequest | undefined>;
  /** The job's plot (SVG text), if it has one. */
  plot(id: string): Promise<string | null>;
  /** A page of jobs of one kind (default fits), newest first, starting after `cursor`. */
  list(limit: number, cursor?: string, kind?: JobKind): Promise<FitPage>;
  /** queued → running; false when the job is no longer queued (cancelled meanwhile). */
  start(id: string): Promise<boolean>;
  /** Records the progress of a running job. */
  progress(id: string, p: FitProgressRecord | SearchProgressRecord): Promise<void>;
  /** running → done, with the results document and the plot. */
  finish(id: string, result: Record<string, unknown>, svg: string | null): Promise<void>;
  /** queued|running → failed. */
  fail(id: string, error: FitErrorRecord): Promise<void>;
  /** queued|running → cancelled; false when the job was already final (or unknown). */
  cancel(id: string): Promise<boolean>;
  /**
   * After a restart: running jobs (their process died) go back to queued; returns the ids of
   * every queued job, oldest first.
   */
  recover(): Promise<string[]>;
  /** Closes the store. */
  close(): void;
}
