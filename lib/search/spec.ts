/**
 * Search specs: a model spec of `deno task fit` (same schema, same errors; its `program` optional,
 * and for a battery search its `data` and `target` too) plus a `search` block: the task kind, seed
 * programs, allowed primitives, budget, islands, cascade sizes. It reads the spec and its seed
 * programs and runs nothing.
 */
import { dirname } from "node:path";
import { z } from "../deps.ts";
import { DmciError } from "../errors.ts";
import { PRIMITIVES } from "../primitives.ts";
import {
  crossCheck,
  parseTextWith,
  parseWith,
  readTextFile,
  resolveFrom,
  type Spec,
  specObject,
} from "../fit/spec.ts";

const POSITIVE_INT = "a positive integer";
const positiveInt = () => z.int({ error: POSITIVE_INT }).positive({ error: POSITIVE_INT });
const fraction = () =>
  z.number({ error: "a number in (0, 1)" }).gt(0, { error: "a number in (0, 1)" }).lt(1, {
    error: "a number in (0, 1)",
  });

/** The numeric primitives: what a search may call unless its spec says otherwise. */
export const DEFAULT_PRIMITIVES: readonly string[] = PRIMITIVES.filter((p) => p.group === "numbers").map((
  p,
) => p.name);

const seedSchema = z.union([
  z.string({ error: "a path" }).min(1, { error: "a path" }),
  z.strictObject({ text: z.string({ error: "Scheme text" }).min(1, { error: "Scheme text" }) }),
], { error: 'a path to a .scm file (relative to the spec) or {"text": "(…Scheme…)"}' });

const searchBlock = z.strictObject({
  task: z.enum(["fit", "battery", "program"], { error: 'one of "fit", "battery", "program"' })
    .describe("What a candidate is scored on (see the README's search section)."),
  seeds: z.array(seedSchema, { error: "an array of seed programs" }).min(1, {
    error: "at least one seed program",
  }).describe("Seed programs: paths relative to the spec, or inline text."),
  primitives: z.array(z.string({ error: "a primitive name" }), { error: "an array of primitive names" })
    .optional().describe("Primitives a candidate may call (default: the numeric ones)."),
  max_complexity: positiveInt().default(60).describe("Largest candidate, in datum nodes."),
  evaluations: positiveInt().default(500).describe("Budget: candidates evaluated (--evaluations)."),
  minutes: z.number({ error: "a number > 0" }).positive({ error: "a number > 0" }).optional()
    .describe("Budget: wall-clock minutes (--minutes)."),
  islands: positiveInt().default(2).describe("Islands of the database."),
  migration_interval: positiveInt().default(40).describe("Evaluations between migrations."),
  complexity_bins: positiveInt().default(8).describe("MAP-Elites bins of complexity."),
  behaviour_bins: positiveInt().default(6).describe("MAP-Elites bins of the behaviour descriptor."),
  validation: fraction().default(0.25)
    .describe("Fraction of the training rows, the last in file order, held back to score candidates."),
  restarts: positiveInt().default(3).describe("Starts of a candidate's full fit."),
  steps: positiveInt().default(150).describe("L-BFGS iterations of a full fit."),
  quick_rows: positiveInt().default(64).describe(
    "Rows of the quick fit (an even subsample of the fit rows).",
  ),
  quick_steps: positiveInt().default(25).describe("L-BFGS iterations of the quick fit."),
  quick_factor: z.number({ error: "a number >= 1" }).min(1, { error: "a number >= 1" }).default(20)
    .describe("A candidate whose quick score exceeds this factor times the worst elite's stops there."),
  fuel: positiveInt().default(20_000_000).describe("Evaluation steps per program run."),
  max_tensor: positiveInt().default(2_000_000).describe("Largest tensor a candidate may make."),
  seconds: z.number({ error: "a number > 0" }).positive({ error: "a number > 0" }).default(60)
    .describe("Wall time of one candidate's evaluation; over it, its worker is terminated."),
  checkpoint_every: positiveInt().default(20).describe("Evaluations between checkpoints."),
  battery: z.strictObject({
    data: z.string({ error: "a folder of cell CSVs" }).min(1, { error: "a folder of cell CSVs" })
      .describe("Folder of cell CSVs (relative to the spec; --data overrides)."),
    test_fraction: fraction().default(0.3).describe("As bench battery's: these cells are never seen."),
    seed: z.int({ error: "an integer >= 0" }).nonnegative({ error: "an integer >= 0" }).default(0),
    restarts: positiveInt().default(4),
    max_rounds: positiveInt().default(150),
  }, { error: "an object" }).optional().describe("The battery task's cells and fits."),
}, { error: "an object" });

const searchObject = specObject.extend({
  program: specObject.shape.program.optional(),
  data: specObject.shape.data.optional(),
  search: searchBlock,
});

/** A validated search spec, defaults applied. */
export type SearchSpec = z.output<typeof searchObject>;
/** The search block. */
export type SearchBlock = SearchSpec["search"];

const searchSchema = searchObject.superRefine((s, ctx) => {
  if (s.search.task === "battery") {
    if (!s.search.battery) {
      ctx.addIssue({
        code: "custom",
        path: ["search", "battery"],
        message: 'missing (a battery search needs {"data": DIR})',
      });
    }
    return;
  }
  if (s.data === undefined) {
    ctx.addIssue({ code: "custom", path: ["data"], message: 'missing (expected "csv" or "columns")' });
    return;
  }
  if (s.search.task === "program" && s.loss.kind !== "program") {
    ctx.addIssue({
      code: "custom",
      path: ["loss"],
      message: 'a "program" search needs "loss": {"kind": "program", …}',
    });
  }
  crossCheck(s as Spec, ctx as unknown as z.RefinementCtx<Spec>);
});

/** A search spec read from disk with its seed programs' texts. */
export interface LoadedSearch {
  readonly spec: SearchSpec;
  readonly file: string;
  readonly dir: string;
  /** Seed programs: their text and where they came from. */
  readonly seeds: readonly { readonly text: string; readonly file: string }[];
  /** The allowed primitives. */
  readonly primitives: readonly string[];
}

/**
 * Reads and validates a search spec and its seed programs.
 *
 * @example
 * ```ts
 * const s = await loadSearchSpec("fixtures/specs/oscillator-search.json");
 * s.spec.search.task; // "fit"
 * ```
 */
export async function loadSearchSpec(path: string): Promise<LoadedSearch> {
  const spec = parseTextWith(searchSchema, await readTextFile(path), path);
  const dir = dirname(path);
  const seeds = [];
  for (const [i, seed] of spec.search.seeds.entries()) {
    if (typeof seed !== "string") seeds.push({ text: seed.text, file: `${path}#seed${i}` });
    else {
      const file = resolveFrom(dir, seed);
      seeds.push({ text: await readTextFile(file, ` (seed ${i} of ${path})`), file });
    }
  }
  const known = new Set(PRIMITIVES.map((p) => p.name));
  for (const name of spec.search.primitives ?? []) {
    if (!known.has(name)) {
      throw new DmciError("spec", `${path}: $.search.primitives: unknown primitive "${name}"`);
    }
  }
  return { spec, file: path, dir, seeds, primitives: spec.search.primitives ?? DEFAULT_PRIMITIVES };
}

/**
 * A search spec given as data (a request body): validated as `loadSearchSpec` validates a file,
 * errors naming the JSON path after `where`; it may name no file, so its seeds are inline texts.
 *
 * @example
 * ```ts
 * const s = searchSpecFromData({ name: "l", inputs: { x: "x" }, target: "y", data: { columns: { x: [0, 1, 2, 3], y: [1, 3, 5, 7] } },
 *   search: { task: "fit", seeds: [{ text: "(+ 1.0 (* 1.0 x))" }] } }, "request");
 * s.seeds[0].text; // "(+ 1.0 (* 1.0 x))"
 * ```
 */
export function searchSpecFromData(json: unknown, where: string): LoadedSearch {
  const spec = parseWith(searchSchema, json, where);
  const seeds = spec.search.seeds.map((seed, i) => {
    if (typeof seed === "string") {
      throw new DmciError(
        "spec",
        `${where}: $.search.seeds[${i}]: a spec given as data names no file; give {"text": "(…Scheme…)"}`,
      );
    }
    return { text: seed.text, file: `${where}#seed${i}` };
  });
  const known = new Set(PRIMITIVES.map((p) => p.name));
  (spec.search.primitives ?? []).forEach((name, i) => {
    if (!known.has(name)) {
      throw new DmciError("spec", `${where}: $.search.primitives[${i}]: unknown primitive "${name}"`);
    }
  });
  return { spec, file: where, dir: "/", seeds, primitives: spec.search.primitives ?? DEFAULT_PRIMITIVES };
}
