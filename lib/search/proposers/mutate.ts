/**
 * The offline proposer `mutate`: one seeded structural edit of the parent program (edits.ts),
 * its site chosen with the parent's gradient feedback, retried until the result passes the
 * proposers' checks (wellformed.ts). Deterministic: the same context and seed give the same
 * proposal. It needs nothing external and evaluates no program.
 */
import type { Datum } from "../../read/datum.ts";
import { read } from "../../read/reader.ts";
import { findParams } from "../../program.ts";
import { uniform } from "../../random.ts";
import type { ConstantReport, Proposal, ProposalContext, Proposer, ScoredProgram } from "../types.ts";
import { analyze } from "./sites.ts";
import {
  addTerm,
  type Constant,
  crossover,
  type Draft,
  type Edit,
  type EditContext,
  insert,
  insignificant,
  lift,
  operators,
  prune,
  remove,
  replace,
  simplify,
  swap,
  tidy,
  toggleGlobalEdit,
  weighted,
  wrap,
} from "./edits.ts";
import { keptDirectives, readDirectives } from "./header.ts";
import { num } from "./tree.ts";
import { writeProgram } from "./print.ts";
import { checkProgram, describeError } from "./wellformed.ts";

/** The edit kinds and how often each is tried (prune only when some constant is insignificant). */
export const EDIT_KINDS: readonly { readonly name: string; readonly edit: Edit; readonly weight: number }[] =
  [
    { name: "replace", edit: replace, weight: 2 },
    { name: "insert", edit: insert, weight: 2 },
    { name: "delete", edit: remove, weight: 2 },
    { name: "wrap", edit: wrap, weight: 2 },
    { name: "swap", edit: swap, weight: 2 },
    { name: "add-term", edit: addTerm, weight: 3 },
    { name: "lift", edit: lift, weight: 1 },
    { name: "crossover", edit: crossover, weight: 2 },
    { name: "simplify", edit: simplify, weight: 1 },
    { name: "prune", edit: prune, weight: 3 },
    { name: "global", edit: toggleGlobalEdit, weight: 1 },
  ];

/** Options of the mutator. */
export interface MutateOptions {
  /** Edits tried per proposal before giving up (default 40). */
  readonly attempts?: number;
  /** Only these edit kinds (by name); default all. */
  readonly kinds?: readonly string[];
}

/** A program read for editing: its datums with the fitted constants written in, its directives. */
export function draftOf(program: Pick<ScoredProgram, "text" | "constants">, file: string): {
  draft: Draft;
  params: ReturnType<typeof findParams>;
  reports: (ConstantReport | null)[];
} {
  const forms = read(program.text, file);
  const params = findParams(forms);
  const byName = new Map(program.constants.map((k) => [k.name, k]));
  const reports = params.map((p, i) =>
    program.constants.length === params.length ? program.constants[i] : byName.get(p.name) ?? null
  );
  // Start the child from the parent's fitted values (where finite).
  const fitted = new Map(params.flatMap((p, i) => {
    const v = reports[i]?.value;
    return v !== undefined && Number.isFinite(v) ? [[p.datum as Datum, v] as const] : [];
  }));
  const put = (d: Datum): Datum => {
    if (d.type === "number") return fitted.has(d) ? { ...num(fitted.get(d)!, true), span: d.span } : d;
    if (d.type !== "list") return d;
    return { ...d, items: d.items.map(put), tail: d.tail && put(d.tail) };
  };
  const withValues = forms.map(put);
  return { draft: { forms: withValues, directives: readDirectives(program.text, file) }, params, reports };
}

/** The text of a draft: its directives (of parameters that still exist) and its forms. */
export function textOf(draft: Draft): string {
  const names = findParams(draft.forms).map((p) => p.name);
  return writeProgram(draft.forms, keptDirectives(draft.directives, names));
}

/** Paths of the decimal literals in `forms` that are editable sites, with their feedback. */
function constantsOf(
  forms: readonly Datum[],
  analysis: ReturnType<typeof analyze>,
  reports: readonly (ConstantReport | null)[],
): Constant[] {
  const params = findParams(forms);
  const siteOf = new Map(analysis.sites.map((s) => [s.datum, s]));
  return params.flatMap((p, i) => {
    const site = siteOf.get(p.datum);
    if (!site) return [];
    const d = site.path.length === 2 ? forms[site.path[0]] : null;
    const defined = d?.type === "list" && d.items[0]?.type === "symbol" && d.items[0].name === "define" &&
        d.items[1]?.type === "symbol" && site.path[1] === 2
      ? d.items[1].name
      : null;
    return [{ path: site.path, defined, report: reports[i] ?? null }];
  });
}

/**
 * One proposal from a context, synchronously (the proposer wraps it).
 *
 * @example
 * ```ts
 * const task = { kind: "fit", name: "t", inputs: ["x"], goal: "", dataSummary: "",
 *   allowedPrimitives: ["+", "*", "exp"], maxComplexity: 40 } as const;
 * const parent = { id: "1", text: "(* 2.0 x)", fittedText: null, score: null, complexity: 4,
 *   constants: [], rejection: null };
 * mutateOnce({ task, parent, inspirations: [], recentErrors: [], seed: 1 }); // { text, proposer: "mutate", edit }
 * ```
 */
export function mutateOnce(
  context: ProposalContext,
  options: MutateOptions = {},
): Proposal | { error: string } {
  const { task, parent } = context;
  const file = `#${parent.id}`;
  let base;
  try {
    base = draftOf(parent, file);
  } catch (e) {
    return { error: `mutate: the parent does not read: ${describeError(e)}` };
  }
  const parentText = textOf(base.draft);
  const analysis = analyze(base.draft.forms, task.inputs);
  const constants = constantsOf(base.draft.forms, analysis, base.reports);
  const donors = context.inspirations.filter((p) => p.text !== parent.text).flatMap((p) => {
    try {
      const d = draftOf(p, `#${p.id}`).draft;
      return [{ id: p.id, draft: d, analysis: analyze(d.forms, task.inputs) }];
    } catch {
      return [];
    }
  });
  const rng = uniform(context.seed);
  const ctx: EditContext = {
    draft: base.draft,
    analysis,
    constants,
    ops: operators(task.allowedPrimitives),
    inputs: task.inputs,
    battery: task.kind === "battery",
    donors,
    rng,
  };
  const kinds = EDIT_KINDS.filter((k) => !options.kinds || options.kinds.includes(k.name));
  const weights = kinds.map((k) =>
    k.name === "prune"
      ? (constants.some(insignificant) ? k.weight : 0)
      : k.name === "crossover"
      ? (donors.length > 0 ? k.weight : 0)
      : k.name === "global"
      ? (ctx.battery ? k.weight : 0)
      : k.weight
  );
  const attempts = options.attempts ?? 40;
  let last = "no edit applied";
  for (let i = 0; i < attempts; i++) {
    const kind = kinds[weighted(rng, weights)];
    if (weights[kinds.indexOf(kind)] <= 0) continue;
    const out = kind.edit(ctx);
    if (!out) continue;
    const text = textOf(tidy(out.draft));
    if (text === parentText) continue;
    try {
      checkProgram(text, "<proposed>", task);
    } catch (e) {
      last = `${kind.name}: ${describeError(e)}`;
      continue;
    }
    return { text, proposer: "mutate", edit: out.edit };
  }
  return { error: `mutate: no well-formed edit of #${parent.id} in ${attempts} attempts (last: ${last})` };
}

/**
 * The offline proposer.
 *
 * @example
 * ```ts
 * const p = mutateProposer();
 * p.name; // "mutate"
 * ```
 */
export function mutateProposer(options: MutateOptions = {}): Proposer {
  return { name: "mutate", propose: (context) => Promise.resolve(mutateOnce(context, options)) };
}
