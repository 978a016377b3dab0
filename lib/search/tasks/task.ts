/**
 * What every search task is: given a candidate read as data (never compiled), calibrate its
 * constants and score it, quickly on a subsample or fully. A task is made in the process (or
 * worker) that evaluates, from plain data ("material") that the main thread prepared: the
 * material holds only what the search may see, so held-out rows and cells never reach a worker.
 */
import type { ProgramData } from "../../dmci.ts";
import type { ConstantReport, TaskInfo } from "../types.ts";

/** How hard to try: the quick stage of the cascade, or the full fit. */
export type Stage = "quick" | "full";

/** A calibrated candidate. */
export interface Calibrated {
  /** The score the search minimises: the validation score (quick: the subsample's own). */
  readonly score: number;
  /** Fitted constants in source order, with standard errors and validation gradients. */
  readonly constants: ConstantReport[];
  /** Task-specific numbers for the history (training loss, per-fold scores, …). */
  readonly details: Readonly<Record<string, number | null>>;
}

/** A candidate as a task calibrates it: its text (battery directives live in comments) and its datums. */
export interface Candidate {
  readonly text: string;
  readonly program: ProgramData;
}

/** One task kind: `fit`, `battery` or `program`. */
export interface Task {
  readonly info: TaskInfo;
  /**
   * Calibrates and scores `program` at `stage`, starting from `warm` (θ in source order; its
   * literals when null) and jittered restarts. Throws a DmciError naming what went wrong.
   */
  calibrate(candidate: Candidate, stage: Stage, warm: readonly number[] | null): Calibrated;
}

/** Limits of a candidate's runs. */
export interface RunLimits {
  readonly fuel: number;
  readonly maxTensor: number;
}
