/**
 * Model specs: the JSON file that says which program, data, parameters, loss, split and
 * optimizer a fit uses. One zod schema validates it (and generates schema/spec.schema.json);
 * every error names the JSON path, what was expected and what was found, with the file's
 * line:col. This module reads the spec and its program, never the data, and runs nothing.
 */
import { dirname, isAbsolute, join } from "node:path";
import { z } from "../deps.ts";
import { DmciError, type Span } from "../errors.ts";

// ---------------------------------------------------------------------------------------
// The schema. Every schema carries an `error` phrase saying what it expects ("a positive
// integer"), which `describeIssue` turns into "expected a positive integer, got -3".

/** `one of "a", "b"`: the expectation phrase of an enumeration. */
function oneOfPhrase(values: readonly unknown[]): string {
  return `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: oneOfPhrase(values) });
}

function text(what: string) {
  return z.string({ error: what }).min(1, { error: what });
}

const POSITIVE_INT = "a positive integer";
const POSITIVE_NUMBER = "a number > 0";

const transforms = ["free", "positive", "bounded"] as const;

const paramSchema = z.strictObject({
  init: z.number({ error: "a number" }).optional()
    .describe("Starting value (default: the literal's value in the program)."),
  transform: oneOf(transforms).default("free")
    .describe(
      'How the optimizer sees the parameter: "free" (as is), "positive" (through exp) or ' +
        '"bounded" (between "lower" and "upper", through a logistic).',
    ),
  lower: z.number({ error: "a number" }).optional().describe(
    'Lower bound; only with "transform": "bounded".',
  ),
  upper: z.number({ error: "a number" }).optional().describe(
    'Upper bound; only with "transform": "bounded".',
  ),
  fixed: z.boolean({ error: "true or false" }).default(false)
    .describe("Keep the parameter at its initial value instead of fitting it."),
}, { error: "an object" });

const dataSchema = z.strictObject({
  csv: text("a path to a CSV file (relative to the spec)").optional()
    .describe("A CSV file with a header row, relative to the spec file. Give this or `columns`."),
  columns: z.record(
    z.string(),
    z.array(z.number({ error: "a number or null" }).nullable(), { error: "an array of numbers" }),
    { error: 'an object of columns, e.g. {"t": [0, 1], "y": [2.5, 1.9]}' },
  ).optional()
    .describe("Inline data: column name to an array of numbers (null = missing), all of one length."),
  missing: oneOf(["drop", "error"]).default("error")
    .describe('What an empty or NaN cell does: "drop" its row, or "error" (the default).'),
}, { error: 'an object with "csv" or "columns"' }).meta({
  description: 'The data: a CSV file ("csv") or inline "columns", exactly one of them.',
  oneOf: [{ required: ["csv"] }, { required: ["columns"] }],
});

const lossSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("mse").describe("Mean squared error between prediction and target.") }),
  z.strictObject({
    kind: z.literal("gaussian-nll")
      .describe("Gaussian negative log-likelihood with a fitted noise scale sigma."),
    sigma_init: z.number({ error: POSITIVE_NUMBER }).positive({ error: POSITIVE_NUMBER }).optional()
      .describe("Starting value of sigma (default: from the data)."),
  }),
  z.strictObject({
    kind: z.literal("program").describe("The program's value is itself the loss or the log-likelihood."),
    returns: oneOf(["loss", "log-likelihood"])
      .describe('"loss" (minimised) or "log-likelihood" (maximised).'),
  }),
], { error: "an object" });

const compareOps = ["<", "<=", ">", ">=", "==", "!="] as const;

const splitSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("fraction").describe("The first ⌊train·n⌋ rows in file order train, the rest test."),
    train: z.number({ error: "a number in (0, 1]" })
      .gt(0, { error: "a number in (0, 1]" })
      .lte(1, { error: "a number in (0, 1]" })
      .describe("Fraction of rows, in file order, that train."),
  }),
  z.strictObject({
    kind: z.literal("column").describe("Rows satisfying `column op value` train, the others test."),
    column: text("a data column name"),
    op: oneOf(compareOps).describe("How the column compares with `value`."),
    value: z.number({ error: "a number" }),
  }),
], { error: "an object" });

const optimizerSchema = z.strictObject({
  method: oneOf(["lbfgs", "adam"]).default("lbfgs").describe("L-BFGS with a line search, or Adam."),
  steps: z.int({ error: POSITIVE_INT }).positive({ error: POSITIVE_INT }).default(500)
    .describe("Maximum number of optimizer steps per restart."),
  learning_rate: z.number({ error: POSITIVE_NUMBER }).positive({ error: POSITIVE_NUMBER }).default(0.05)
    .describe("Adam's step size."),
  restarts: z.int({ error: POSITIVE_INT }).positive({ error: POSITIVE_INT }).default(1)
    .describe("Number of starts (the first from the initial values, the rest jittered)."),
  seed: z.int({ error: "an integer >= 0" }).nonnegative({ error: "an integer >= 0" }).default(0)
    .describe("Seed of the restarts' random starting points."),
  tolerance: z.number({ error: "a number >= 0" }).nonnegative({ error: "a number >= 0" }).default(1e-9)
    .describe("Convergence tolerance on the loss's relative change."),
}, { error: "an object" });

// The shape; `specSchema` adds the cross-field rules.
/** The spec's fields as a zod object (for schemas that extend a spec, like the search spec's). */
export const specObject = z.strictObject({
  $schema: z.string({ error: "a string" }).optional()
    .describe("For editors: the path or URL of this JSON Schema. Ignored by dmci."),
  name: text("a non-empty string").describe("The model's name."),
  description: z.string({ error: "a string" }).optional().describe("What the model is, for people."),
  program: z.union([
    text("a non-empty string"),
    z.strictObject({ text: text("the program's Scheme text") }),
  ], { error: 'a path to a .scm file (relative to the spec) or {"text": "(…Scheme…)"}' })
    .describe('The Scheme program: a path relative to the spec file, or {"text": "…"}.'),
  inputs: z.record(z.string(), text("a data column name"), { error: "an object of variable: column" })
    .default({})
    .describe("Program variable name to data column; each is bound as a global tensor of the column."),
  target: text("a data column name").optional()
    .describe('The data column the program\'s value predicts (required unless the loss is "program").'),
  params: z.record(z.string(), paramSchema, { error: "an object of parameter: settings" }).default({})
    .describe(
      'By parameter name: `k` for (define k 0.5), else the literal\'s "line:col" in the program.',
    ),
  data: dataSchema,
  loss: lossSchema.prefault({ kind: "mse" }).describe('What the fit minimises (default {"kind": "mse"}).'),
  split: splitSchema.optional().describe("Train/test split; default: every row trains."),
  optimizer: optimizerSchema.prefault({}).describe(
    "How the fit minimises the loss; every field has a default.",
  ),
  backend: oneOf(["tfjs", "tfjs-wasm", "f64"]).default("tfjs")
    .describe('Where the program runs: tfjs (float32, cpu), tfjs-wasm, or "f64" (float64 autodiff).'),
  mode: oneOf(["interpreted", "direct"]).default("interpreted")
    .describe('"interpreted": through the self-hosted evaluator; "direct": the program compiled as is.'),
  plot: z.strictObject({ x: text("a data column name") }, { error: "an object" }).optional()
    .describe("x column of the data-vs-fit plot (default: the first input column, else row index)."),
}, { error: "a JSON object" });

/** A validated spec, with every default applied. */
export type Spec = z.output<typeof specObject>;
/** A spec as written (defaults optional), e.g. to build one in code. */
export type SpecInput = z.input<typeof specObject>;
/** One parameter's settings. */
export type ParamSpec = Spec["params"][string];
/** The data section: `csv` or `columns`, and the missing-value policy. */
export type DataSpec = Spec["data"];
/** The loss section. */
export type LossSpec = Spec["loss"];
/** The split section (absent: every row trains). */
export type SplitSpec = NonNullable<Spec["split"]>;
/** The optimizer section, defaults applied. */
export type OptimizerSpec = Spec["optimizer"];

// A Scheme identifier as the reader sees one: no delimiters, not a number.
const IDENTIFIER = /^[^\s()[\]{}"';`|,#][^\s()[\]{}"';`|,]*$/;

/** The spec's cross-field rules (bounds, a target unless the loss is the program's, inline columns). */
export function crossCheck(s: Spec, ctx: z.RefinementCtx<Spec>): void {
  const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path, message });
  if (s.target === undefined && s.loss.kind !== "program") {
    issue(
      ["target"],
      `missing (expected the data column the program's value predicts; only "loss": {"kind": "program"} goes without)`,
    );
  }
  for (const [name, p] of Object.entries(s.params)) {
    if (name === "") issue(["params", name], "expected a parameter name, got an empty key");
    if (p.transform === "bounded") {
      if (p.lower === undefined || p.upper === undefined) {
        const which = p.lower === undefined
          ? (p.upper === undefined ? '"lower" and "upper"' : '"lower"')
          : '"upper"';
        issue(["params", name], `"transform": "bounded" needs ${which}`);
      } else if (!(p.lower < p.upper)) {
        issue(["params", name, "upper"], `expected a number above "lower" (${p.lower}), got ${p.upper}`);
      } else if (p.init !== undefined && !(p.lower < p.init && p.init < p.upper)) {
        issue(
          ["params", name, "init"],
          `expected a number strictly between "lower" and "upper" (${p.lower}, ${p.upper}), got ${p.init}`,
        );
      }
    } else {
      for (const bound of ["lower", "upper"] as const) {
        if (p[bound] !== undefined) {
          issue(
            ["params", name, bound],
            `"${bound}" is only used with "transform": "bounded" (this parameter is "${p.transform}")`,
          );
        }
      }
      if (p.transform === "positive" && p.init !== undefined && !(p.init > 0)) {
        issue(["params", name, "init"], `expected a number > 0 for "transform": "positive", got ${p.init}`);
      }
    }
  }
  for (const variable of Object.keys(s.inputs)) {
    if (!IDENTIFIER.test(variable) || Number.isFinite(Number(variable))) {
      issue(
        ["inputs", variable],
        `expected a Scheme identifier as the program variable, got ${JSON.stringify(variable)}`,
      );
    } else if (Object.hasOwn(s.params, variable)) {
      issue(
        ["inputs", variable],
        `"${variable}" is both a program input and a parameter (${formatPath(["params", variable])})`,
      );
    }
  }
  const { csv, columns } = s.data;
  if ((csv === undefined) === (columns === undefined)) {
    issue(
      ["data"],
      csv === undefined
        ? 'expected "csv" (a file path) or "columns" (inline data), got neither'
        : 'expected "csv" (a file path) or "columns" (inline data), not both',
    );
  } else if (columns !== undefined) {
    const names = Object.keys(columns);
    if (names.length === 0) issue(["data", "columns"], "expected at least one column, got none");
    for (const name of names) {
      if (name === "") issue(["data", "columns", name], "expected a column name, got an empty key");
      if (columns[name].length !== columns[names[0]].length) {
        issue(
          ["data", "columns", name],
          `has ${columns[name].length} values, but ${formatPath(["data", "columns", names[0]])} has ` +
            `${columns[names[0]].length} (columns must be of equal length)`,
        );
      }
    }
  }
}

/**
 * The zod schema of a model spec (strict: unknown keys are errors). Parsing applies the
 * defaults; cross-field rules (bounds, a target unless the loss is the program's, equal
 * inline column lengths) are checked once the shape is right.
 */
export const specSchema = specObject.superRefine(crossCheck).meta({
  title: "dmci model spec",
  description: "A Scheme model program, the data it is fitted to, and how it is fitted (dmci `fit`).",
});

// ---------------------------------------------------------------------------------------
// Errors: zod issues to one line, "$.a.b: expected X, got Y".

type Issue = z.core.$ZodIssue;
type PathKey = PropertyKey;

/** Formats a JSON path: `$.params.k.init`, `$.data.columns.y[3]`, `$.params["12:5"]`. */
export function formatPath(path: readonly PathKey[]): string {
  let out = "$";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) out += `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PathKey[]): unknown {
  let v = root;
  for (const key of path) {
    if (v === null || typeof v !== "object" || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** A found value, shortly: `-3`, `"pos"`, `{"a":1}`, `an object`, `an array of 12 items`. */
function show(v: unknown): string {
  if (v === undefined) return "nothing";
  const json = JSON.stringify(v);
  if (json.length <= 40) return json;
  if (typeof v === "string") return `${JSON.stringify(v.slice(0, 30))}…`;
  return Array.isArray(v) ? `an array of ${v.length} items` : "an object";
}

type Def = Record<string, unknown>;
const defOf = (s: z.ZodType) => s.def as unknown as Def;

// The schemas a value may have once wrappers are peeled off (every option of a union).
function unwrapSchema(s: z.ZodType): z.ZodType[] {
  const def = defOf(s);
  switch (def.type) {
    case "optional":
    case "default":
    case "prefault":
    case "nullable":
      return unwrapSchema(def.innerType as z.ZodType);
    case "union":
      return (def.options as z.ZodType[]).flatMap(unwrapSchema);
    default:
      return [s];
  }
}

function childSchemas(s: z.ZodType, key: PathKey): z.ZodType[] {
  const def = defOf(s);
  if (def.type === "object") {
    const shape = def.shape as Record<string, z.ZodType>;
    return typeof key === "string" && Object.hasOwn(shape, key) ? [shape[key]] : [];
  }
  if (def.type === "record") return [def.valueType as z.ZodType];
  if (def.type === "array") return [def.element as z.ZodType];
  return [];
}

/**
 * For "did you mean": the keys the strict object at `path` accepts, found by walking the
 * schema; where it is a variant of a discriminated union (loss, split), only the variant
 * the value's "kind" selects, and `elsewhere` says which other variant takes a key.
 */
function keysAt(
  path: readonly PathKey[],
  value: unknown,
): { known: string[]; elsewhere: Map<string, string> } {
  let nodes: z.ZodType[] = [specObject];
  for (const key of path) nodes = nodes.flatMap(unwrapSchema).flatMap((s) => childSchemas(s, key));
  const known = new Set<string>();
  const elsewhere = new Map<string, string>();
  const visit = (s: z.ZodType) => {
    const def = defOf(s);
    if (def.type === "union" && typeof def.discriminator === "string") {
      const disc = def.discriminator;
      const chosen = value !== null && typeof value === "object" ? (value as Def)[disc] : undefined;
      for (const option of def.options as z.ZodObject[]) {
        const literal = defOf(option.shape[disc] as z.ZodType).values as unknown[];
        if (literal.includes(chosen)) visit(option);
        else {
          for (const k of Object.keys(option.shape)) {
            if (!elsewhere.has(k)) elsewhere.set(k, `"${disc}": ${JSON.stringify(literal[0])}`);
          }
        }
      }
    } else if (["optional", "default", "prefault", "nullable"].includes(def.type as string)) {
      visit(def.innerType as z.ZodType);
    } else if (def.type === "union") {
      for (const option of def.options as z.ZodType[]) visit(option);
    } else if (def.type === "object") {
      for (const k of Object.keys(def.shape as object)) known.add(k);
    }
  };
  nodes.forEach(visit);
  for (const k of known) elsewhere.delete(k);
  return { known: [...known], elsewhere };
}

// Edit distance with adjacent transpositions ("inti" is one step from "init").
function editDistance(a: string, b: string): number {
  const d = Array.from(
    { length: a.length + 1 },
    (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i || j),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

function unknownKeyHint(key: string, path: readonly PathKey[], value: unknown): string {
  const { known: selected, elsewhere } = keysAt(path, value);
  const variant = elsewhere.get(key);
  if (selected.length > 0 && variant !== undefined) return ` (it belongs with ${variant})`;
  // No variant selected (the "kind" is missing): any variant's keys may be meant.
  const known = selected.length > 0 ? selected : [...elsewhere.keys()];
  if (known.length === 0) return "";
  const near = known
    .map((k) => ({ k, d: editDistance(key.toLowerCase(), k.toLowerCase()) }))
    .filter(({ k, d }) => d <= Math.min(2, Math.floor(k.length / 3)))
    .sort((a, b) => a.d - b.d);
  return near.length > 0 ? ` (did you mean "${near[0].k}"?)` : ` (known keys: ${known.join(", ")})`;
}

function unknownKey(key: string, path: readonly PathKey[], value: unknown): string {
  return `unknown key "${key}"${unknownKeyHint(key, path, value)}`;
}

/** One problem: where (the JSON path; `key` when the key itself is at fault) and what. */
interface Problem {
  path: PathKey[];
  key?: PathKey;
  text: string;
}

function problems(issue: Issue, root: unknown, prefix: PathKey[]): Problem[] {
  const path = [...prefix, ...issue.path];
  const value = valueAt(root, path);
  const expected = (phrase: string) =>
    value === undefined ? `missing (expected ${phrase})` : `expected ${phrase}, got ${show(value)}`;
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => ({ path, key, text: unknownKey(key, path, value) }));
    case "custom":
      return [{ path, text: issue.message }];
    case "invalid_union": {
      if ("discriminator" in issue && typeof issue.discriminator === "string") {
        // No variant matched the discriminator: a misspelt key may be why ({"kin": "mse"}).
        const objectPath = path.slice(0, -1);
        const object = valueAt(root, objectPath);
        const { known, elsewhere } = keysAt(objectPath, object);
        const strays = object !== null && typeof object === "object" && !Array.isArray(object)
          ? Object.keys(object).filter((k) => !known.includes(k) && !elsewhere.has(k))
          : [];
        return [
          ...strays.map((key) => ({ path: objectPath, key, text: unknownKey(key, objectPath, object) })),
          { path, text: expected(oneOfPhrase((issue as { options?: unknown[] }).options ?? [])) },
        ];
      }
      // Report the branch that accepted the value's type, if exactly one did.
      const typed = issue.errors.filter((branch) =>
        !branch.some((i) => i.code === "invalid_type" && i.path.length === 0)
      );
      if (typed.length === 1) return typed[0].flatMap((i) => problems(i, root, path));
      return [{ path, text: expected(issue.message) }];
    }
    default:
      // Every schema above carries its own phrase; zod's stock messages are sentences.
      if (/^(Invalid|Too|Unrecognized|Expected)\b/.test(issue.message)) {
        return [{ path, text: issue.message }];
      }
      return [{ path, text: expected(issue.message) }];
  }
}

const MAX_REPORTED = 3;

/** Where in the spec's text a path is, for the error's line:col. */
type Locator = (path: readonly PathKey[], key?: PathKey) => Span;

function specError(issues: readonly Issue[], root: unknown, where: string, locate?: Locator): DmciError {
  const all = issues.flatMap((i) => problems(i, root, []));
  const shown = all.slice(0, MAX_REPORTED).map((p) => `${formatPath(p.path)}: ${p.text}`);
  if (all.length > MAX_REPORTED) shown.push(`and ${all.length - MAX_REPORTED} more`);
  const message = shown.join("; ");
  if (!locate) return new DmciError("spec", `${where}: ${message}`);
  return new DmciError("spec", message, locate(all[0].path, all[0].key));
}

/**
 * Validates an already-parsed spec object. `where` names it in errors (a file name, "request
 * body"); without the text there is no line:col, so it prefixes the message.
 *
 * @example
 * ```ts
 * const spec = parseSpec({ name: "d", program: { text: "(* k t)" }, inputs: { t: "t" }, target: "y",
 *   data: { columns: { t: [0, 1], y: [0, 2] } } }, "inline");
 * spec.optimizer.steps; // 500
 * ```
 */
export function parseSpec(json: unknown, where: string): Spec {
  return parseWith(specSchema, json, where);
}

/**
 * Validates an already-parsed object against `schema` (the spec's, or one extending it), with the
 * spec's errors naming the JSON path, prefixed by `where`.
 *
 * @example
 * ```ts
 * parseWith(specSchema, { name: "d" }, "request"); // throws: request: $.program: missing …
 * ```
 */
export function parseWith<T>(schema: z.ZodType<T>, json: unknown, where: string): T {
  const r = schema.safeParse(json);
  if (!r.success) throw specError(r.error.issues, json, where);
  return r.data;
}

/**
 * Parses and validates a spec's JSON text; errors (JSON syntax or spec) carry `file:line:col`.
 *
 * @example
 * ```ts
 * parseSpecText('{"name": "d", "program": "d.scm", "target": "y", "data": {"csv": "d.csv"}}', "d.json")
 *   .loss; // { kind: "mse" }
 * ```
 */
export function parseSpecText(text: string, file: string): Spec {
  return parseTextWith(specSchema, text, file);
}

/**
 * Parses JSON text and validates it against `schema` (the spec's, or one extending it), with the
 * spec's errors: JSON path, expected and found, at the file's line:col.
 *
 * @example
 * ```ts
 * parseTextWith(specSchema, '{"name": "d", "program": "d.scm", "target": "y", "data": {"csv": "d.csv"}}', "d.json");
 * ```
 */
export function parseTextWith<T>(schema: z.ZodType<T>, text: string, file: string): T {
  const { value, locate } = parseJsonLocated(text, file);
  const r = schema.safeParse(value);
  if (!r.success) throw specError(r.error.issues, value, file, locate);
  return r.data;
}

/** A spec read from disk, with its program text. */
export interface LoadedSpec {
  /** The validated spec, defaults applied. */
  spec: Spec;
  /** The spec file as given. */
  file: string;
  /** The spec file's directory: `program` and `data.csv` are relative to it. */
  dir: string;
  /** The program's Scheme text. */
  programText: string;
  /** The program's file for error positions; `SPEC#program` for an inline program. */
  programFile: string;
}

/** Reads a text file; failures are one-line `io` errors. */
export async function readTextFile(path: string, what = ""): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file"
      : e instanceof Deno.errors.IsADirectory
      ? "it is a directory"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : e instanceof Error
      ? e.message
      : String(e);
    throw new DmciError("io", `cannot read ${path}${what}: ${why}`);
  }
}

/** Resolves `path` against the spec's directory (absolute paths stay as they are). */
export function resolveFrom(dir: string, path: string): string {
  return isAbsolute(path) ? path : join(dir, path);
}

/**
 * Reads, parses and validates a spec file, then reads its program (a path relative to the
 * spec, or inline text).
 *
 * @example
 * ```ts
 * const { spec, programText } = await loadSpec("fixtures/specs/decay.json");
 * ```
 */
export async function loadSpec(path: string): Promise<LoadedSpec> {
  const spec = parseSpecText(await readTextFile(path), path);
  const dir = dirname(path);
  if (typeof spec.program !== "string") {
    return { spec, file: path, dir, programText: spec.program.text, programFile: `${path}#program` };
  }
  const programFile = resolveFrom(dir, spec.program);
  const programText = await readTextFile(programFile, ` (the program of ${path})`);
  return { spec, file: path, dir, programText, programFile };
}

/**
 * The data columns a spec uses, each once: the inputs' columns, the target, the split
 * column and the plot's x, in that order. `loadTable` loads exactly these.
 */
export function neededColumns(spec: Spec): string[] {
  const cols = [...Object.values(spec.inputs)];
  if (spec.target !== undefined) cols.push(spec.target);
  if (spec.split?.kind === "column") cols.push(spec.split.column);
  if (spec.plot) cols.push(spec.plot.x);
  return [...new Set(cols)];
}

// ---------------------------------------------------------------------------------------
// JSON with positions. JSON.parse says neither where a syntax error is (reliably) nor where
// a value sits, so a small strict parser does both; it also rejects duplicate keys, which
// JSON.parse would silently resolve to the last one.

const WHITESPACE = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const MAX_DEPTH = 256;

/** Parses JSON text; `locate` maps a path (and optionally a key in it) to a span. */
export function parseJsonLocated(text: string, file: string): { value: unknown; locate: Locator } {
  const lineStarts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  const spanAt = (offset: number): Span => {
    let lo = 0, hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file, line: lo + 1, col: offset - lineStarts[lo] + 1 };
  };
  // Offsets by path (JSON-encoded): where each value starts, and where its key does.
  const at = new Map<string, { value: number; key: number }>();
  const pathKey = (path: readonly PathKey[]) => JSON.stringify(path.map(String));
  const path: PathKey[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;

  const found = (): string => {
    if (i >= text.length) return "the end of the file";
    const c = text[i];
    const hint = c === "'" ? " (JSON strings use double quotes)" : c === "/" ? " (JSON has no comments)" : "";
    return `${JSON.stringify(c)}${hint}`;
  };
  const syntax = (message: string, offset = i): never => {
    throw new DmciError("spec", `invalid JSON: ${message}`, spanAt(offset));
  };
  const ws = () => {
    WHITESPACE.lastIndex = i;
    WHITESPACE.exec(text);
    i = WHITESPACE.lastIndex;
  };
  const string = (): string => {
    const start = i;
    let j = i + 1;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") j++;
      else if (text.charCodeAt(j) < 0x20) {
        syntax(
          text[j] === "\n" ? "a string runs past the end of its line" : "a control character in a string",
          j,
        );
      }
    }
    if (j >= text.length) syntax("a string is never closed", start);
    i = j + 1;
    try {
      return JSON.parse(text.slice(start, i));
    } catch {
      return syntax("an invalid escape in a string", start);
    }
  };
  const value = (depth: number, keyOffset?: number): unknown => {
    ws();
    at.set(pathKey(path), { value: i, key: keyOffset ?? i });
    if (depth > MAX_DEPTH) syntax(`nested more than ${MAX_DEPTH} levels deep`);
    const c = text[i];
    if (c === "{") {
      const obj: Record<string, unknown> = {};
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') syntax(`expected a "quoted" key, got ${found()}`);
        const keyAt = i;
        const key = string();
        if (Object.hasOwn(obj, key)) {
          throw new DmciError("spec", `${formatPath(path)}: duplicate key "${key}"`, spanAt(keyAt));
        }
        ws();
        if (text[i] !== ":") syntax(`expected ":" after the key "${key}", got ${found()}`);
        i++;
        path.push(key);
        // defineProperty, so that a key "__proto__" is a key and not a prototype.
        Object.defineProperty(obj, key, {
          value: value(depth + 1, keyAt),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        path.pop();
        ws();
        if (text[i] === "}") {
          i++;
          return obj;
        }
        if (text[i] !== ",") syntax(`expected "," or "}" after the value of "${key}", got ${found()}`);
        i++;
        ws();
        if (text[i] === "}") syntax('a trailing comma before "}"');
      }
    }
    if (c === "[") {
      const arr: unknown[] = [];
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        path.push(arr.length);
        arr.push(value(depth + 1));
        path.pop();
        ws();
        if (text[i] === "]") {
          i++;
          return arr;
        }
        if (text[i] !== ",") syntax(`expected "," or "]" in an array, got ${found()}`);
        i++;
        ws();
        if (text[i] === "]") syntax('a trailing comma before "]"');
      }
    }
    if (c === '"') return string();
    NUMBER.lastIndex = i;
    const num = NUMBER.exec(text);
    if (num) {
      i += num[0].length;
      return Number(num[0]);
    }
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    return syntax(i >= text.length && depth === 0 ? "the file is empty" : `expected a value, got ${found()}`);
  };

  const result = value(0);
  ws();
  if (i < text.length) syntax(`unexpected ${found()} after the end of the JSON value`);
  const locate: Locator = (p, key) => {
    if (key !== undefined) {
      const k = at.get(pathKey([...p, key]));
      if (k) return spanAt(k.key);
    }
    // A missing value is reported at the nearest enclosing value that exists.
    for (let n = p.length; n >= 0; n--) {
      const v = at.get(pathKey(p.slice(0, n)));
      if (v) return spanAt(v.value);
    }
    return spanAt(0);
  };
  return { value: result, locate };
}

/**
 * A spec given as data (a server request, a search candidate) as `fitSpec` takes it: the program
 * must be inline (`{"text": …}`) and the data inline (`{"columns": …}`) or an absolute path, since
 * there is no spec file to resolve paths against. Throws a `spec` error naming the JSON path.
 *
 * @example
 * ```ts
 * const loaded = specFromData({ name: "d", program: { text: "(define k 0.5) (* k t)" }, inputs: { t: "t" },
 *   target: "y", data: { columns: { t: [0, 1, 2], y: [0, 1.1, 1.9] } } }, "request");
 * // await fitSpec(loaded)
 * ```
 */
export function specFromData(json: unknown, where: string): LoadedSpec {
  const spec = parseSpec(json, where);
  if (typeof spec.program === "string") {
    throw new DmciError("spec", `${where}: $.program: expected inline program text {"text": …}, got a path`);
  }
  if (spec.data.csv !== undefined && !isAbsolute(spec.data.csv)) {
    throw new DmciError(
      "spec",
      `${where}: $.data.csv: a spec given as data needs inline columns or an absolute path`,
    );
  }
  return { spec, file: where, dir: "/", programText: spec.program.text, programFile: `${where}#program` };
}
