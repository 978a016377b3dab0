/**
 * The roles of the program search and the data passed between them (OpenEvolve's split):
 * a proposer writes candidate program texts, a task calibrates and scores one candidate,
 * the database keeps scored programs, the controller runs the loop. This module holds only
 * the shapes that cross those boundaries, so each role can be built and tested alone; it
 * must not import any role.
 */

/** What a proposer needs to know about the task, in plain data (it never sees held-out rows). */
export interface TaskInfo {
  /** `fit`, `battery` or `program`. */
  readonly kind: "fit" | "battery" | "program";
  /** The task's name (the spec's `name`). */
  readonly name: string;
  /** Program variables bound to data (each a whole column as a tensor, or as the task documents). */
  readonly inputs: readonly string[];
  /** What the program's value must be (one prediction per row of the target, a loss, …), in words. */
  readonly goal: string;
  /** A short human-readable summary of the data (ranges, sizes, a few rows). */
  readonly dataSummary: string;
  /** Primitive names a candidate may call (already filtered by the search spec). */
  readonly allowedPrimitives: readonly string[];
  /** Largest program size in datum nodes a candidate may have. */
  readonly maxComplexity: number;
}

/** One calibrated constant of a scored program, with the gradient feedback only this system has. */
export interface ConstantReport {
  /** The parameter's name (`k` for `(define k 0.5)`, else `line:col`). */
  readonly name: string;
  /** Fitted value. */
  readonly value: number;
  /** Standard error from the Hessian of the training loss (null when not available). */
  readonly se: number | null;
  /** d(validation loss)/d(constant) at the fitted values (null when not available). */
  readonly validationGrad: number | null;
}

/** A program in the database, or a rejected candidate, as proposers see it. */
export interface ScoredProgram {
  /** Database id (unique within one search). */
  readonly id: string;
  /** Program text as proposed (constants as written by the proposer). */
  readonly text: string;
  /** Program text with the fitted constants written in (null when rejected). */
  readonly fittedText: string | null;
  /** Validation score, lower is better (null when rejected). */
  readonly score: number | null;
  /** Datum node count. */
  readonly complexity: number;
  /** Fitted constants in source order. */
  readonly constants: readonly ConstantReport[];
  /** For a rejected candidate: the cascade stage and the error message (with line:col). */
  readonly rejection: { readonly stage: string; readonly message: string } | null;
}

/** Everything a proposer is given for one proposal. */
export interface ProposalContext {
  readonly task: TaskInfo;
  /** The program to edit. */
  readonly parent: ScoredProgram;
  /** A few top and diverse programs (crossover partners, prompt examples). */
  readonly inspirations: readonly ScoredProgram[];
  /** Recent failures of this proposer's own output (so an LLM can be told what went wrong). */
  readonly recentErrors: readonly { readonly text: string; readonly message: string }[];
  /** A seed for this proposal: the same seed and context give the same proposal. */
  readonly seed: number;
}

/** A candidate program text and how it was made. */
export interface Proposal {
  readonly text: string;
  /** The proposer's name (`mutate`, `llm`). */
  readonly proposer: string;
  /** What was done, in a few words (`wrap exp at 3:7`, `llm diff`, `crossover with #12`). */
  readonly edit: string;
}

/** Token counts of one LLM call, or summed. */
export interface TokenUsage {
  readonly calls: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** One request attempt of a proposer that calls out (the `llm` proposer), with its tokens. */
export interface ProposerCall {
  /** The proposal's seed (attempts of one proposal share it). */
  readonly seed: number;
  /** 1 for the first attempt of a proposal, 2 for its first retry, … */
  readonly attempt: number;
  readonly outcome: "ok" | "http" | "timeout" | "connection" | "cancelled";
  /** HTTP status, when the server answered with one. */
  readonly status: number | null;
  readonly ms: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** The wait before the next attempt, when one follows. */
  readonly retryAfterMs: number | null;
  /** What went wrong, for a failed attempt. */
  readonly message: string | null;
}

/**
 * Writes candidate programs. A proposal may fail (an LLM reply that does not parse, a
 * mutation with nowhere to apply): it then resolves to an error message, which the
 * controller records and feeds back through `recentErrors`.
 */
export interface Proposer {
  readonly name: string;
  propose(context: ProposalContext): Promise<Proposal | { readonly error: string }>;
  /** Tokens used so far (LLM proposers). */
  usage?(): TokenUsage;
  /** Every request attempt so far, in the order they ended (LLM proposers). */
  calls?(): readonly ProposerCall[];
}
