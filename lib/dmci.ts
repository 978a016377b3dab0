/**
 * DMCI, the frozen evaluator: lib/evaluator.scm is compiled once per process and bound
 * once per backend; a model program is then handed to it as data, its decimal literals
 * the parameter leaves, so value and gradient come back without compiling the program.
 * This module must compile nothing per program; it only converts programs to data and
 * turns the evaluator's errors into DmciErrors at the program's own positions.
 */
import { DmciError, type ErrorKind, type Span } from "./errors.ts";
import type { Datum, ListDatum, NumberDatum } from "./read/datum.ts";
import { containsParam, datumToValue } from "./read/datum_value.ts";
import { DEFAULT_LIMITS, type Limits, type Runtime } from "./compile/runtime.ts";
import {
  execute,
  findParams,
  type LoadOptions,
  loadProgram,
  type Program,
  type RunOptions,
  runtimeFor,
} from "./program.ts";
import { read } from "./read/reader.ts";
import { PRIMITIVES } from "./primitives.ts";
import { arrayToList, NIL, Pair, type Procedure, Sym, UNSPECIFIED } from "./values.ts";
import type { Backend, ValueAndGrad } from "./backend/backend.ts";

/** The evaluator's file name, as the spans of its code and of its text read as data say. */
export const EVALUATOR_FILE = "lib/evaluator.scm";

/** The text of lib/evaluator.scm (fetched once, by file: or http: URL alike). */
const EVALUATOR_TEXT = await (await fetch(new URL("./evaluator.scm", import.meta.url))).text();

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

// ---------------------------------------------------------------------------------------
// Programs as data

/**
 * Source position of the datum in the car of each pair made from program text. The
 * evaluator names the place of an expression by the pair that holds it, so it needs the
 * car's own position (`pairSpans` gives the head pair of a list the list's position,
 * where the evaluator needs that of the operator, a variable perhaps).
 */
const carSpans = new WeakMap<Pair, Span>();

/**
 * The list of `forms` as runtime data, each decimal literal that is a parameter replaced
 * by `param(literal)`, and every pair's car position recorded. Pairs are immutable in the
 * language, so lists without parameters are made once per process and shared by all runs;
 * only the lists on the way to a parameter are made anew.
 */
function formsToData(forms: readonly Datum[], param?: (d: NumberDatum) => unknown): unknown {
  if (forms.length === 0) return NIL;
  let all = wholePrograms.get(forms);
  if (!all) wholePrograms.set(forms, all = { type: "list", items: forms, tail: null, span: forms[0].span });
  return toData(all, param);
}

/** The whole program as one list datum, so that its top-level pairs are made and located too. */
const wholePrograms = new WeakMap<readonly Datum[], ListDatum>();
const shared = new WeakMap<Datum, unknown>();
const hasParams = new WeakMap<Datum, boolean>();

function toData(d: Datum, param?: (d: NumberDatum) => unknown): unknown {
  if (d.type !== "list") return datumToValue(d, param);
  let withParams = hasParams.get(d);
  if (withParams === undefined) hasParams.set(d, withParams = containsParam(d, () => true));
  if (param && withParams) return listToData(d, param);
  let value = shared.get(d);
  if (value === undefined) shared.set(d, value = listToData(d));
  return value;
}

function listToData(d: ListDatum, param?: (d: NumberDatum) => unknown): unknown {
  let out: unknown = d.tail ? toData(d.tail, param) : NIL;
  for (let i = d.items.length - 1; i >= 0; i--) {
    const p = new Pair(toData(d.items[i], param), out);
    carSpans.set(p, d.items[i].span);
    out = p;
  }
  return out;
}

/** Where the expression in the car of `cell` was read, if it was. */
function cellSpan(cell: unknown): Span | undefined {
  return cell instanceof Pair ? carSpans.get(cell) : undefined;
}

let evaluatorData: unknown;

/** The evaluator's own text as data (no parameters), for the tower; made once. */
function evaluatorAsData(): unknown {
  return evaluatorData ??= formsToData(evaluatorProgram().forms);
}

// ---------------------------------------------------------------------------------------
// The evaluator bound to a runtime

const entries = new WeakMap<Runtime, Procedure>();

/** The evaluator's entry `run-program` on a runtime: its top level runs once per runtime. */
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
    const walk = (d: Datum): void => {
      if (d.type === "symbol") out.add(d.name);
      else if (d.type === "list") {
        d.items.forEach(walk);
        if (d.tail) walk(d.tail);
      }
    };
    forms.forEach(walk);
    mentioned.set(forms, names = out);
  }
  return names;
}

/**
 * The global environment handed to the evaluator: ((name . procedure) …) from the
 * primitive table, limited to the names that occur in the program's text. No other
 * global can be referred to (the language has no `eval`), and the evaluator's look-ups
 * in an association list stay short.
 */
function primitivesFor(rt: Runtime, names: readonly ReadonlySet<string>[]): unknown {
  const used = PRIMITIVES.filter((p) => names.some((n) => n.has(p.name)));
  return arrayToList(used.map((p) => new Pair(Sym.of(p.name), rt.procs[p.name])));
}

/**
 * Runs a program through the evaluator on a runtime, inside a backend scope.
 *
 * The hooks given to `run-program` are `raise` (an error of a kind at the expression in
 * the car of a pair of the program) and `watch` (given, once per evaluator level, a
 * procedure returning the pair of the call being made). Errors raised by primitives and
 * limits carry a position inside lib/evaluator.scm; they are moved to the program's call
 * through those procedures, level by level down the tower.
 */
function interpret(
  prog: ProgramData,
  rt: Runtime,
  params: readonly unknown[],
  options: InterpretOptions,
): unknown {
  const entry = entryOn(rt);
  const levels = options.levels ?? 1;
  const primitives = primitivesFor(
    rt,
    levels > 1 ? [symbolsOf(prog.forms), symbolsOf(evaluatorProgram().forms)] : [symbolsOf(prog.forms)],
  );
  const index = new Map(prog.params.map((p, i) => [p.datum, i]));
  let program = formsToData(prog.forms, (d) => {
    const i = index.get(d);
    return i === undefined ? undefined : params[i];
  });
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
  for (let level = 1; level < levels; level++) {
    // ((begin <evaluator forms>) (run-program '<program> '<primitives> '<raise> '<watch>))
    const quote = (x: unknown) => arrayToList([Sym.of("quote"), x]);
    const run = arrayToList([Sym.of("run-program"), ...[program, primitives, raise, watch].map(quote)]);
    program = arrayToList([new Pair(Sym.of("begin"), evaluatorAsData()), run]);
  }
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  rt.reset(limits);
  try {
    return rt.call(entry, [program, primitives, raise, watch], undefined);
  } catch (e) {
    throw relocate(e, rt, limits, watchers);
  }
}

/** The error a failed run reports: host stack overflow as a `limit` error, at the program's call. */
function relocate(e: unknown, rt: Runtime, limits: Limits, watchers: readonly unknown[]): unknown {
  const error = e instanceof RangeError && /call stack/i.test(e.message)
    ? new DmciError(
      "limit",
      "host stack exhausted (non-tail recursion too deep; run deno with --v8-flags=--stack-size=8000)",
    )
    : e;
  if (!(error instanceof DmciError) || (error.span && error.span.file !== EVALUATOR_FILE)) return error;
  rt.reset(limits); // the run is over; its spent fuel must not stop the look-up below
  for (const current of watchers) {
    let span: Span | undefined;
    try {
      span = cellSpan(rt.call(current, [], undefined));
    } catch {
      break;
    }
    if (!span) break;
    error.span = span;
    if (span.file !== EVALUATOR_FILE) break;
  }
  return error;
}
