/**
 * The prompt of the `llm` proposer: the task and its data summary, the language reference
 * generated from the primitive table (filtered to the task's allowed primitives), the parent
 * and a few other programs with their scores, fitted constants and rejections, the gradient
 * feedback per constant (fitted value, standard error, validation-loss gradient; constants
 * whose ±2 SE interval includes zero flagged for deletion), the proposer's own recent errors
 * and the answer format. Pure text: it calls nothing.
 */
import { languageReference } from "../../reference.ts";
import type { ConstantReport, ProposalContext, ScoredProgram } from "../types.ts";
import { insignificant, sensitivity } from "./edits.ts";

/** How much the prompt shows. */
export interface PromptOptions {
  /** Other programs shown besides the parent (default 4). */
  readonly inspirations?: number;
  /** Most recent own errors shown (default 3). */
  readonly recentErrors?: number;
  /** Lines of a failed text shown with an error (default 30). */
  readonly errorLines?: number;
}

/** A chat prompt: the system and the user message. */
export interface Prompt {
  readonly system: string;
  readonly user: string;
}

/**
 * Errors of the request itself (HTTP status, timeout), as opposed to errors of a reply's
 * content: the proposer prefixes them with this, and the prompt does not show them to the model.
 */
export const REQUEST_ERROR_PREFIX = "llm request failed";

/** The marker lines of a SEARCH/REPLACE block. */
export const DIFF_MARKERS = {
  search: "<<<<<<< SEARCH",
  divider: "=======",
  replace: ">>>>>>> REPLACE",
} as const;

const SYSTEM = [
  "You improve scientific model programs written in dmci, a small differentiable subset of Scheme (R7RS).",
  "Every decimal literal (a number written with a decimal point, such as 0.5 or 2.0) in your program is a",
  "parameter: after you answer, all of them are fitted to the data by exact gradients, so write sensible",
  "starting values, not tuned ones. Integer literals (1, 2, 10) stay fixed. Lower scores are better;",
  "simpler programs are preferred when scores are close. Use only the procedures and special forms listed.",
].join("\n");

/**
 * The text the parent is shown as, and that SEARCH/REPLACE blocks apply to: the parent with
 * its fitted constants written in when it has them (so an edit starts from fitted values).
 */
export function parentBase(parent: ScoredProgram): string {
  return parent.fittedText ?? parent.text;
}

/**
 * Builds the prompt for one proposal.
 *
 * @example
 * ```ts
 * const p = buildPrompt(context);
 * p.user.includes("## Answer format"); // true
 * ```
 */
export function buildPrompt(context: ProposalContext, options: PromptOptions = {}): Prompt {
  const sections = [
    taskSection(context),
    languageSection(context),
    parentSection(context.parent),
    inspirationsSection(context, options.inspirations ?? 4),
    errorsSection(context, options.recentErrors ?? 3, options.errorLines ?? 30),
    answerSection(context.task.inputs[0] ?? "x"),
  ];
  return { system: SYSTEM, user: sections.filter((s) => s !== "").join("\n\n") + "\n" };
}

function taskSection({ task }: ProposalContext): string {
  return [
    `## Task: ${task.name} (${task.kind})`,
    "",
    `Goal: ${task.goal}`,
    `Inputs (free variables bound to the data): ${task.inputs.map((i) => `\`${i}\``).join(", ")}.`,
    `Size limit: at most ${task.maxComplexity} datum nodes (every symbol, number and list counts one).`,
    "",
    "Data:",
    task.dataSummary.trimEnd(),
  ].join("\n");
}

function languageSection({ task }: ProposalContext): string {
  return [
    "## Language",
    "",
    "The procedures allowed in this search (anything else is rejected as unbound):",
    "",
    languageReference({ only: task.allowedPrimitives, level: 3, bare: true }).trimEnd(),
  ].join("\n");
}

function parentSection(parent: ScoredProgram): string {
  return [
    `## Parent program #${parent.id} (${describeScore(parent)}): edit this one`,
    "",
    fenced(parentBase(parent)),
    ...constantsBlock(parent.constants),
  ].join("\n");
}

function inspirationsSection(context: ProposalContext, limit: number): string {
  const shown = context.inspirations.filter((p) => p.id !== context.parent.id).slice(0, limit);
  if (shown.length === 0) return "";
  const out = ["## Other programs of this search (for ideas; do not copy them blindly)"];
  for (const p of shown) {
    out.push("", `### #${p.id} (${describeScore(p)})`, "", fenced(p.fittedText ?? p.text));
    out.push(...constantsBlock(p.constants));
  }
  return out.join("\n");
}

function errorsSection(context: ProposalContext, limit: number, maxLines: number): string {
  // a controller may prefix messages with the stage (`propose: …`), so look for the marker anywhere
  const shown = context.recentErrors.filter((e) => !e.message.includes(`${REQUEST_ERROR_PREFIX}:`));
  const errors = shown.slice(-limit);
  if (errors.length === 0) return "";
  const out = ["## Your recent answers that failed (do not repeat these mistakes)"];
  errors.forEach((e, i) => {
    out.push("", `${i + 1}. The error:`, "", "```text", e.message.trimEnd(), "```");
    if (e.text.trim() !== "") out.push("", "The text it is about:", "", numbered(e.text, maxLines));
  });
  return out.join("\n");
}

function answerSection(input: string): string {
  return [
    "## Answer format",
    "",
    "Think about what the parent gets wrong, then make one focused change. Explain it in at most three",
    "sentences, then give EITHER the whole new program in one fenced block:",
    "",
    "```scheme",
    "(define k 0.5)",
    `(* k ${input})`,
    "```",
    "",
    "OR one or more SEARCH/REPLACE blocks that edit the parent program exactly as shown above",
    "(the SEARCH text must match a unique part of it, whole lines, including indentation):",
    "",
    DIFF_MARKERS.search,
    `(* k ${input})`,
    DIFF_MARKERS.divider,
    `(* k (exp (- (* 0.1 ${input}))))`,
    DIFF_MARKERS.replace,
    "",
    "Constants whose ±2 SE interval includes zero (marked 'delete?') contribute nothing measurable:",
    "removing them usually helps. A large validation gradient means that part of the program is where",
    "the validation error comes from (the row marked 'largest gradient × SE').",
  ].join("\n");
}

function describeScore(p: ScoredProgram): string {
  const size = `complexity ${p.complexity}`;
  if (p.rejection) return `rejected at ${p.rejection.stage}: ${p.rejection.message}; ${size}`;
  return p.score === null ? `not scored; ${size}` : `score ${num(p.score)}; ${size}`;
}

/**
 * The table of fitted constants: value, SE, validation gradient, and notes: deletion candidates,
 * and the constant where the validation loss is most sensitive (edits.ts's measure, as the mutator's).
 */
function constantsBlock(constants: readonly ConstantReport[]): string[] {
  if (constants.length === 0) return [];
  const impact = constants.map((k) => sensitivity({ report: k }));
  const most = impact.indexOf(Math.max(...impact));
  const rows = constants.map((k, i) => {
    const notes = [
      ...(insignificant({ report: k }) ? ["delete? (±2 SE includes 0)"] : []),
      ...(i === most && impact[i] > 0 ? ["largest gradient × SE"] : []),
    ];
    const flag = notes.join("; ");
    return `| ${k.name} | ${num(k.value)} | ${optional(k.se)} | ${optional(k.validationGrad)} | ${flag} |`;
  });
  return [
    "",
    "Fitted constants (a constant without a name is given by the line:col of its literal):",
    "",
    "| constant | fitted value | standard error | d(validation loss)/d(constant) | note |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ];
}

/** A number in 4 significant digits. */
function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return x === 0 ? "0" : String(Number(x.toPrecision(4)));
}

function optional(x: number | null): string {
  return x === null ? "n/a" : num(x);
}

function fenced(text: string): string {
  return ["```scheme", text.trimEnd(), "```"].join("\n");
}

/** A text with line numbers (so a `line:col` in an error can be found), cut at `maxLines`. */
function numbered(text: string, maxLines: number): string {
  const lines = text.replace(/\r\n?/g, "\n").trimEnd().split("\n");
  const width = String(Math.min(lines.length, maxLines)).length;
  const shown = lines.slice(0, maxLines).map((l, i) => `${String(i + 1).padStart(width)} | ${l}`);
  if (lines.length > maxLines) shown.push(`… (${lines.length - maxLines} more lines)`);
  return ["```", ...shown, "```"].join("\n");
}
