/**
 * The evaluation cascade of one candidate: read → static checks (unbound names, arity, allowed
 * primitives, size; the proposers' own checks, run again) → quick fit on a subsample → full fit.
 * Each stage that fails rejects the candidate with the stage's name and the error's message (at
 * its line:col). Nothing is compiled per candidate: the task runs it through the frozen evaluator.
 * It knows nothing of workers or the database.
 */
import { readProgram } from "../dmci.ts";
import { read } from "../read/reader.ts";
import type { ConstantReport } from "./types.ts";
import type { Task } from "./tasks/mod.ts";
import { checkProgram, describeError } from "./proposers/wellformed.ts";
import { distinctPrimitives, warmStart } from "./shape.ts";
import { draftOf, textOf } from "./proposers/mutate.ts";

/** The stages a candidate can be rejected at (the pool adds `timeout` and `crash`). */
export type RejectStage = "read" | "static" | "quick" | "full" | "timeout" | "crash";

/** What the controller asks to evaluate (plain data: it crosses to a worker). */
export interface EvalRequest {
  readonly id: string;
  readonly text: string;
  /** The parent's text and fitted constants, for the warm start. */
  readonly parent: { readonly text: string; readonly values: readonly number[] } | null;
  /** A quick score above this stops the candidate at the quick stage (null: no bar). */
  readonly quickBar: number | null;
}

/** The result of a candidate's evaluation. */
export type Outcome =
  | {
    readonly ok: true;
    readonly score: number;
    readonly quickScore: number;
    readonly complexity: number;
    readonly behaviour: number;
    readonly constants: ConstantReport[];
    readonly fittedText: string;
    readonly details: Readonly<Record<string, number | null>>;
    readonly seconds: number;
  }
  | {
    readonly ok: false;
    readonly stage: RejectStage;
    readonly message: string;
    readonly complexity: number | null;
    readonly seconds: number;
  };

/**
 * Runs the cascade on one candidate.
 *
 * @example
 * ```ts
 * const out = evaluateCandidate(task, { id: "1", text: "(* 1.0 (cos (* 2.0 t)))", parent: null, quickBar: null });
 * out.ok ? out.score : `${out.stage}: ${out.message}`;
 * ```
 */
export function evaluateCandidate(task: Task, r: EvalRequest): Outcome {
  const t0 = performance.now();
  const file = `#${r.id}`;
  let complexity: number | null = null;
  const reject = (stage: RejectStage, e: unknown): Outcome => ({
    ok: false,
    stage,
    message: describeError(e),
    complexity,
    seconds: (performance.now() - t0) / 1000,
  });
  let forms;
  try {
    forms = read(r.text, file);
  } catch (e) {
    return reject("read", e);
  }
  try {
    complexity = checkProgram(r.text, file, task.info).complexity;
  } catch (e) {
    return reject("static", e);
  }
  const program = readProgram(r.text, file);
  let warm: number[] | null = null;
  if (r.parent) {
    try {
      warm = warmStart(read(r.parent.text, "#parent"), r.parent.values, forms);
    } catch {
      warm = null;
    }
  }
  const candidate = { text: r.text, program };
  let quickScore: number;
  try {
    quickScore = task.calibrate(candidate, "quick", warm).score;
  } catch (e) {
    return reject("quick", e);
  }
  if (r.quickBar !== null && quickScore > r.quickBar) {
    return reject(
      "quick",
      `quick score ${quickScore.toPrecision(4)} is above the bar ${r.quickBar.toPrecision(4)}`,
    );
  }
  try {
    const c = task.calibrate(candidate, "full", warm);
    const fittedText = textOf(draftOf({ text: r.text, constants: c.constants }, file).draft);
    return {
      ok: true,
      score: c.score,
      quickScore,
      complexity,
      behaviour: distinctPrimitives(forms),
      constants: c.constants,
      fittedText,
      details: c.details,
      seconds: (performance.now() - t0) / 1000,
    };
  } catch (e) {
    return reject("full", e);
  }
}
