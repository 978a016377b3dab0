/**
 * DMCI, the frozen evaluator: lib/evaluator.scm is compiled once per process and bound
 * once per backend; a model program is handed to it as data, its decimal literals the
 * parameter leaves, so value and gradient come back without compiling the program. The
 * evaluator analyses each program once per backend; later runs only put the run's
 * parameter values in place. This module must compile nothing per program; it converts
 * programs to data and turns the evaluator's errors into DmciErrors at the program's own
 * positions.
 */
import { EVALUATOR_SOURCE } from "./evaluator_source.ts";
import { DmciError, type ErrorKind, type Span } from "./errors.ts";
import type { Datum, ListDatum } from "./read/datum.ts";
import { datumToValue } from "./read/datum_value.ts";
import { eachDatum, foldDatum, isStackOverflow, nestingError } from "./read/depth.ts";
import { DEFAULT_LIMITS, type Limits, type Runtime } from "./compile/runtime.ts";
import {
  bindInputs,
  execute,
  findParams,
  type LoadOptions,
  loadProgram,
  type Program,
  type RunOptions,
  runtimeFor,
  stageWithInputs,
} from "./program.ts";
import { read } from "./read/reader.ts";
import { PRIMITIVES } from "./primitives.ts";
import { arrayToList, NIL, Pair, type Procedure, Sym, UNSPECIFIED } from "./values.ts";
import type { Backend, StagedFunction, StageOptions, ValueAndGrad } from "./backend/backend.ts";

/** The evaluator's file name, as the spans of its code and of its text read as data say. */
export const EVALUATOR_FILE = "lib/evaluator.scm";

/** The text of lib/evaluator.scm, embedded (scripts/embed_evaluator.ts) so URL import needs no permission. */
const EVALUATOR_TEXT = EVALUATOR_SOURCE;

let evaluator: Program | undefined;

/**
 * The evaluator, read and compiled on first use and then reused for the whole process.
 *
 * @example
 * ```ts
 * evaluatorProgram() === evaluatorProgram(); // true: compiled once
 * ```
 */
export function evaluatorProgram(): Program {
  return evaluator ??= loadProgram(EVALUATOR_TEXT, EVALUATOR_FILE, { model: false });
}

/** What the evaluator needs of a program: its text as datums and its parameters. A `Program` is one. */
export type ProgramData = Pick<Program, "file" | "forms" | "params" | "theta0">;

/**
 * Reads a model program for the evaluator without compiling it: its forms, and its
 * decimal literals as parameters (unless `model` is false), named as `loadProgram` names
 * them. Syntax errors are then found by the evaluator, when the program runs.
 *
 * @example
 * ```ts
 * readProgram("(define k 0.5) (* k k)", "m.scm").params.map((p) => p.name); // ["k"]
 * ```
 */
export function readProgram(text: string, file: string, options: LoadOptions = {}): ProgramData {
  const forms = read(text, file);
  const params = options.model === false ? [] : findParams(forms);
  return { file, forms, params, theta0: params.map((p) => p.value) };
}

/** Options of an interpreted run. */
export interface InterpretOptions extends RunOptions {
  /**
   * Levels of evaluator (default 1). With 2, the evaluator evaluates the evaluator's own
   * text, which evaluates the program: the tower of DESIGN §2.
   */
  readonly levels?: number;
}

/**
 * Runs a program through the compiled evaluator and returns its value in Scheme `write`
 * syntax, as `runProgram` does for the directly compiled program.
 *
 * @example
 * ```ts
 * import { f64Backend } from "./backend/f64/mod.ts";
 * runInterpreted(loadProgram("(map (lambda (x) (* x x)) '(1 2 3))", "a.scm"), f64Backend); // "(1 4 9)"
 * ```
 */
export function runInterpreted(prog: ProgramData, backend: Backend, options: InterpretOptions = {}): string {
  const rt = runtimeFor(backend);
  return backend.run(
    (params) => rt.write(interpret(prog, rt, params, options)),
    options.theta ?? prog.theta0,
  );
}

/**
 * Value and gradient of a program's (scalar) value w.r.t. its parameters at θ, with the
 * program run through the compiled evaluator; the same as `valueAndGrad` gives for the
 * directly compiled program, to float precision.
 *
 * @example
 * ```ts
 * import { f64Backend } from "./backend/f64/mod.ts";
 * const { value, grad } = interpretedValueAndGrad(loadProgram("(define k 3.0) (* k k)", "a.scm"), f64Backend);
 * // value 9, grad [6]
 * ```
 */
export function interpretedValueAndGrad(
  prog: ProgramData,
  backend: Backend,
  options: InterpretOptions = {},
): ValueAndGrad {
  const rt = runtimeFor(backend);
  return backend.valueAndGrad((params) => interpret(prog, rt, params, options), options.theta ?? prog.theta0);
}

/**
 * A program run through the compiled evaluator, prepared for many value-and-gradient calls
 * (traced on f64), as `stageProgram` is for the directly compiled program.
 *
 * @example
 * ```ts
 * import { f64Backend } from "./backend/f64/mod.ts";
 * stageInterpreted(loadProgram("(define k 3.0) (* k k)", "a.scm"), f64Backend).valueAndGrad([2]).value; // 4
 * ```
 */
export function stageInterpreted(
  prog: ProgramData,
  backend: Backend,
  options: InterpretOptions & StageOptions = {},
): StagedFunction {
  const rt = runtimeFor(backend);
  return stageWithInputs(
    backend,
    options.inputs,
    (params, inputs) => interpret(prog, rt, params, { ...options, inputs }),
    options,
  );
}

// ---------------------------------------------------------------------------------------
// Programs as data

/**
 * Source position of the datum in the car of each pair made from program text. The
 * evaluator names the place of an expression by the pair that holds it, so it needs the
 * car's own position (`pairSpans` gives the head pair of a list the list's position,
 * where the evaluator needs that of the operator, a variable perhaps).
 */
const carSpans = new WeakMap<Pair, Span>();

/** Where the expression in the car of `cell` was read, if it was. */
function cellSpan(cell: unknown): Span | undefined {
  return cell instanceof Pair ? carSpans.get(cell) : undefined;
}

/** A place in a program's data that holds parameter `index`: a car, or the cdr of a dotted list. */
interface Leaf {
  readonly pair: Pair;
  readonly field: "car" | "cdr";
  readonly index: number;
}

/** A program as the evaluator gets it: its forms as one list, and where its parameters sit. */
interface ProgramValue {
  readonly forms: unknown;
  readonly leaves: readonly Leaf[];
}

const programValues = new WeakMap<readonly Datum[], ProgramValue>();

/**
 * The program's forms as one list of runtime data, made once per program: every pair's car
 * position recorded, and the places of the decimal literals that are parameters listed, so
 * that each run only puts the run's parameter values (tracked leaves, during
 * value-and-gradient) there. Programs cannot change pairs, and a run reads these numbers
 * only while it runs, so reusing the data across runs is invisible to programs.
 */
function programValue(prog: ProgramData): ProgramValue {
  let value = programValues.get(prog.forms);
  if (!value) {
    const index = new Map(prog.params.map((p, i) => [p.datum, i]));
    const leaves: Leaf[] = [];
    // Bottom-up without recursion: quoted data may nest deeper than the host stack.
    const convertList = (d: ListDatum): unknown =>
      foldDatum(d, (x) => datumToValue(x), (l, child) => {
        let out: unknown = l.tail ? child(l.tail) : NIL;
        for (let i = l.items.length - 1; i >= 0; i--) {
          const item = l.items[i];
          const p = new Pair(child(item), out);
          carSpans.set(p, item.span);
          if (item.type === "number" && index.has(item)) {
            leaves.push({ pair: p, field: "car", index: index.get(item)! });
          }
          if (l.tail?.type === "number" && i === l.items.length - 1 && index.has(l.tail)) {
            leaves.push({ pair: p, field: "cdr", index: index.get(l.tail)! });
          }
          out = p;
        }
        return out;
      });
    const forms = prog.forms.length === 0
      ? NIL
      : convertList({ type: "list", items: prog.forms, tail: null, span: prog.forms[0].span });
    programValues.set(prog.forms, value = { forms, leaves });
  }
  return value;
}

// ---------------------------------------------------------------------------------------
// The evaluator bound to a runtime

const entries = new WeakMap<Runtime, Procedure>();

/** The evaluator's entry `analyze-program` on a runtime: its top level runs once per runtime. */
function entryOn(rt: Runtime): Procedure {
  let entry = entries.get(rt);
  if (!entry) entries.set(rt, entry = execute(evaluatorProgram(), rt, []) as Procedure);
  return entry;
}

const mentioned = new WeakMap<readonly Datum[], ReadonlySet<string>>();

/** The symbols that occur in `forms` (cached per program). */
function symbolsOf(forms: readonly Datum[]): ReadonlySet<string> {
  let names = mentioned.get(forms);
  if (!names) {
    const out = new Set<string>();
    eachDatum(forms, (d) => void (d.type === "symbol" && out.add(d.name)));
    mentioned.set(forms, names = out);
  }
  return names;
}

/**
 * The global environment handed to the evaluator, from the primitive table: one entry
 * (name procedure implementation fewest most) per primitive, where `procedure` is the
 * primitive as a value and `implementation` the code behind it, which takes a call site
 * first (the evaluator passes #f, and errors are re-located through `watch`) and leaves
 * the argument count to its caller. Only the primitives whose names occur in the program's
 * text (and in the evaluator's, for a tower) are given: no other global can be referred
 * to (the language has no `eval`), and the evaluator's look-ups stay short.
 */
function primitivesFor(rt: Runtime, forms: readonly (readonly Datum[])[]): unknown {
  const names = forms.map(symbolsOf);
  const used = PRIMITIVES.filter((p) => names.some((n) => n.has(p.name)));
  return arrayToList(
    used.map((p) =>
      arrayToList([Sym.of(p.name), rt.procs[p.name], rt.prims[p.name], p.arity[0], p.arity[1]])
    ),
  );
}

/** A program analysed by the evaluator on one runtime, ready to run any number of times. */
interface Prepared {
  /** The procedure `analyze-program` returned: runs the program once, given the inputs' values. */
  readonly run: Procedure;
  /** For each inner level of a tower, the pairs of the quoted list the inputs' values go in. */
  readonly inputCells: readonly (readonly Pair[])[];
  /** The procedures the evaluator levels gave `watch`; the first `analysed` came with the analysis. */
  readonly watchers: unknown[];
  readonly analysed: number;
}

const prepared = new WeakMap<Runtime, WeakMap<ProgramData, Map<string, Prepared>>>();

/**
 * The program analysed on a runtime, for `levels` of evaluator and inputs named `inputs`:
 * analysed on first use (a syntax error is raised then, and nothing is kept), then reused.
 *
 * The hooks given to the evaluator are `parameter` (whether the number in the car of a
 * pair of the program is a parameter), `raise` (an error of a kind at the expression in
 * the car of a pair of the program) and `watch` (given, once per evaluator level, a
 * procedure returning the pair of the call being made, to re-locate errors).
 */
function prepare(
  prog: ProgramData,
  rt: Runtime,
  levels: number,
  inputs: readonly string[],
  limits: Limits,
): Prepared {
  let byProgram = prepared.get(rt);
  if (!byProgram) prepared.set(rt, byProgram = new WeakMap());
  let byKey = byProgram.get(prog);
  if (!byKey) byProgram.set(prog, byKey = new Map());
  const key = `${levels} ${inputs.join(" ")}`;
  const known = byKey.get(key);
  if (known) return known;

  const watchers: unknown[] = [];
  const raise = (kind: unknown, message: unknown, cell: unknown): never => {
    throw new DmciError(
      (kind instanceof Sym ? kind.name : String(kind)) as ErrorKind,
      String(message),
      cellSpan(cell),
    );
  };
  const watch = (current: unknown): unknown => {
    watchers.push(current);
    return UNSPECIFIED;
  };
  // Only the numbers that are parameters change between runs; the evaluator takes the others as constants.
  const leafCells = new Set(programValue(prog).leaves.filter((l) => l.field === "car").map((l) => l.pair));
  const parameter = (cell: unknown): boolean => leafCells.has(cell as Pair);
  const primitives = primitivesFor(rt, levels > 1 ? [prog.forms, evaluatorProgram().forms] : [prog.forms]);
  const names = arrayToList(inputs.map((name) => Sym.of(name)));
  const inputCells: Pair[][] = [];
  let program = programValue(prog).forms;
  for (let level = 1; level < levels; level++) {
    // ((begin <the evaluator's forms>)
    //  (run-program '<program> '<parameter> '<primitives> '<inputs> '<values> '<raise> '<watch>))
    const quote = (x: unknown) => arrayToList([Sym.of("quote"), x]);
    // The values' list is made once; each run puts the run's values in its pairs.
    const pairs = inputs.map(() => new Pair(NIL, NIL));
    pairs.forEach((p, i) => p.cdr = pairs[i + 1] ?? NIL);
    inputCells.push(pairs);
    const values = quote(pairs[0] ?? NIL);
    const run = arrayToList([
      Sym.of("run-program"),
      ...[program, parameter, primitives, names].map(quote),
      values,
      ...[raise, watch].map(quote),
    ]);
    program = arrayToList([new Pair(Sym.of("begin"), programValue(evaluatorProgram()).forms), run]);
  }
  rt.reset(limits);
  try {
    const run = rt.call(
      entryOn(rt),
      [program, parameter, primitives, names, raise, watch],
      undefined,
    ) as Procedure;
    const p: Prepared = { run, inputCells, watchers, analysed: watchers.length };
    byKey.set(key, p);
    return p;
  } catch (e) {
    throw relocate(e, rt, limits, watchers, prog, true);
  }
}

/** Runs a program through the evaluator on a runtime, inside a backend scope. */
export function interpret(
  prog: ProgramData,
  rt: Runtime,
  params: readonly unknown[],
  options: InterpretOptions,
): unknown {
  if (params.length !== prog.params.length) {
    throw new DmciError(
      "type",
      `${prog.file}: θ has ${params.length} value(s) but the program has ${prog.params.length} parameter(s)`,
    );
  }
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  for (const leaf of programValue(prog).leaves) leaf.pair[leaf.field] = params[leaf.index];
  const bound: Record<string, unknown> = {};
  if (options.inputs) bindInputs(rt.backend, options.inputs, bound);
  const inputs = Object.keys(bound);
  const p = prepare(prog, rt, options.levels ?? 1, inputs, limits);
  for (const pairs of p.inputCells) pairs.forEach((pair, i) => pair.car = bound[inputs[i]]);
  const values = arrayToList(inputs.map((name) => bound[name]));
  p.watchers.length = p.analysed; // those of inner levels are given again by each run
  rt.reset(limits);
  try {
    return rt.call(p.run, [values], undefined);
  } catch (e) {
    throw relocate(e, rt, limits, p.watchers, prog, false);
  }
}

/**
 * The error a failed run reports: host stack overflow as a `limit` error, and an error
 * raised inside lib/evaluator.scm (by a primitive, or a limit) at the program's call,
 * found through the `watch` procedures level by level down the tower. The place named is
 * always one of `prog`'s own: a host stack overflow while the evaluator analyses the
 * program is placed at its most deeply nested list, and an error no call of the program
 * can be found for at its first form (never at a stale call of an earlier program, nor in
 * lib/evaluator.scm).
 */
function relocate(
  e: unknown,
  rt: Runtime,
  limits: Limits,
  watchers: readonly unknown[],
  prog: ProgramData,
  analysing: boolean,
): unknown {
  if (analysing && isStackOverflow(e)) return nestingError(prog.forms, "the evaluator analysed");
  const error = rt.stackLimit(e);
  if (!(error instanceof DmciError) || (error.span && error.span.file === prog.file)) return error;
  rt.reset(limits); // the run is over; its spent fuel must not stop the look-up below
  let span: Span | undefined;
  for (const current of watchers) {
    let found: Span | undefined;
    try {
      found = cellSpan(rt.call(current, [], undefined));
    } catch {
      break;
    }
    if (!found) break;
    span = found;
    if (found.file !== EVALUATOR_FILE) break;
  }
  error.span = span?.file === prog.file ? span : prog.forms[0]?.span;
  return error;
}
