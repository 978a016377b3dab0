/**
 * Programs: source text read, its parameters found, expanded and compiled once; then
 * run at a parameter vector θ, for a value or for value and gradient. This is the one
 * way to run a program ("direct" execution); the evaluator is itself such a program.
 */
import { DmciError, type Span } from "./errors.ts";
import type { Datum, NumberDatum } from "./read/datum.ts";
import { read } from "./read/reader.ts";
import { datumToValue } from "./read/datum_value.ts";
import { eachDatum, guardNesting } from "./read/depth.ts";
import { expandProgram } from "./expand/expander.ts";
import { compile, type CompiledCode, instantiate } from "./compile/compiler.ts";
import { DEFAULT_LIMITS, type Limits, Runtime } from "./compile/runtime.ts";
import type {
  Backend,
  Nested,
  ParamValue,
  StagedFunction,
  StageOptions,
  TensorData,
  ValueAndGrad,
} from "./backend/backend.ts";
import { PRIMITIVE_BY_NAME } from "./primitives.ts";

/** A continuous parameter: a decimal literal of a model program. */
export interface ParamInfo {
  /** `k` for `(define k 0.5)`, else `line:col` of the literal (a suffix `#2` … keeps names unique). */
  readonly name: string;
  /** The literal's value as written. */
  readonly value: number;
  /** Where the literal is. */
  readonly span: Span;
  /** The literal itself. */
  readonly datum: NumberDatum;
}

/** A program read and compiled, ready to run at any θ on any backend. */
export interface Program {
  /** File name used in messages. */
  readonly file: string;
  /** Top-level datums as read. */
  readonly forms: readonly Datum[];
  /** Parameters in source order (empty unless read as a model program). */
  readonly params: readonly ParamInfo[];
  /** Initial parameter vector: the literals as written. */
  readonly theta0: readonly number[];
  /** Compiled code (backend-independent). */
  readonly code: CompiledCode;
}

/** Options of `loadProgram`. */
export interface LoadOptions {
  /** Decimal literals are parameters (default true: every program is a model program). */
  readonly model?: boolean;
}

/**
 * The decimal literals of datums in source order, named as DESIGN §2 says:
 * `(define k 0.01)` names its literal `k`; others are named `line:col`.
 *
 * @example
 * ```ts
 * import { read } from "./read/reader.ts";
 * findParams(read("(define k 0.5) (* k 2.0)", "m.scm")).map((p) => p.name); // ["k", "1:25"]
 * ```
 */
export function findParams(forms: readonly Datum[]): ParamInfo[] {
  const out: ParamInfo[] = [];
  const named = new Map<NumberDatum, string>();
  // Iterative: quoted data may nest deeper than the host stack.
  eachDatum(forms, (d) => {
    if (d.type === "number") {
      if (d.decimal) {
        out.push({
          name: named.get(d) ?? `${d.span.line}:${d.span.col}`,
          value: d.value,
          span: d.span,
          datum: d,
        });
      }
    } else if (d.type === "list") {
      const [head, name, value] = d.items;
      if (
        d.items.length === 3 && head.type === "symbol" && head.name === "define" && name.type === "symbol" &&
        value.type === "number" && value.decimal
      ) named.set(value, name.name);
    }
  });
  const seen = new Map<string, number>();
  return out.map((p) => {
    const n = (seen.get(p.name) ?? 0) + 1;
    seen.set(p.name, n);
    return n === 1 ? p : { ...p, name: `${p.name}#${n}` };
  });
}

/**
 * Reads, expands and compiles a program once.
 *
 * @example
 * ```ts
 * const prog = loadProgram("(define k 0.5) (* k k)", "m.scm");
 * prog.params.length; // 1
 * ```
 */
export function loadProgram(text: string, file: string, options: LoadOptions = {}): Program {
  const forms = read(text, file);
  const params = options.model === false ? [] : findParams(forms);
  const index = new Map(params.map((p, i) => [p.datum, i]));
  const code = guardNesting(
    forms,
    "compiling",
    () => compile(expandProgram(forms, { params: index }), { params: index }),
  );
  return { file, forms, params, theta0: params.map((p) => p.value), code };
}

const runtimes = new WeakMap<Backend, Runtime>();

/** The runtime of a backend (one per backend per process). */
export function runtimeFor(backend: Backend): Runtime {
  let rt = runtimes.get(backend);
  if (!rt) runtimes.set(backend, rt = new Runtime(backend));
  return rt;
}

/** Options of a run. */
export interface RunOptions {
  /** Parameter vector (default: the literals as written). */
  readonly theta?: readonly ParamValue[];
  /** Limits (default: DEFAULT_LIMITS). */
  readonly limits?: Partial<Limits>;
  /** Inputs bound as globals before the program runs (data columns, as constant tensors). */
  readonly inputs?: Inputs;
}

/** An input value: a number, nested arrays, a column, or a tensor as data. */
export type InputValue = number | Nested | Float64Array | TensorData;
/** Inputs by global variable name. */
export type Inputs = Readonly<Record<string, InputValue>>;

/**
 * Makes each input a constant backend tensor (a number stays a number) and stores it in
 * `globals`. Runs inside the backend scope of the run, so tensors are released with it.
 */
export function bindInputs(backend: Backend, inputs: Inputs, globals: Record<string, unknown>): void {
  for (const [name, v] of Object.entries(inputs)) {
    if (PRIMITIVE_BY_NAME.has(name)) {
      throw new DmciError("spec", `input '${name}' would shadow the primitive of the same name; rename it`);
    }
    if (backend.isTensor(v)) globals[name] = v; // a staged call's data input, already a backend value
    else if (typeof v === "number") globals[name] = v;
    else if (v instanceof Float64Array) globals[name] = backend.tensor(Array.from(v));
    else if (Array.isArray(v)) globals[name] = backend.tensor(v);
    else globals[name] = backend.reshape(backend.tensor(Array.from(v.data)), v.shape);
  }
}

/**
 * Calls the compiled program with parameter values and returns its value, turning a
 * host stack overflow into a `limit` error. Used inside a backend scope.
 */
export function execute(
  prog: Program,
  rt: Runtime,
  params: readonly unknown[],
  limits?: Partial<Limits>,
  inputs?: Inputs,
): unknown {
  if (params.length !== prog.params.length) {
    throw new DmciError(
      "type",
      `${prog.file}: θ has ${params.length} value(s) but the program has ${prog.params.length} parameter(s)`,
    );
  }
  const run = guardNesting(prog.forms, "compiling", () => instantiate(prog.code, rt));
  rt.reset({ ...DEFAULT_LIMITS, ...limits });
  const index = prog.code.paramQuotes.length ? new Map(prog.params.map((p, i) => [p.datum, i])) : undefined;
  const quotes = prog.code.paramQuotes.map((d) =>
    datumToValue(d, (x) => {
      const i = index!.get(x);
      return i === undefined ? undefined : params[i];
    })
  );
  const globals = Object.create(rt.procs);
  if (inputs) bindInputs(rt.backend, inputs, globals);
  try {
    let v = run(params, globals, quotes);
    if (v instanceof rt.TC) v = rt.bounce(v);
    return v;
  } catch (e) {
    throw rt.stackLimit(e);
  }
}

/**
 * Runs a program and returns its value written in Scheme `write` syntax.
 *
 * @example
 * ```ts
 * import { f64Backend } from "./backend/f64/mod.ts";
 * runProgram(loadProgram("(map (lambda (x) (* x x)) '(1 2 3))", "a.scm"), f64Backend); // "(1 4 9)"
 * ```
 */
export function runProgram(prog: Program, backend: Backend, options: RunOptions = {}): string {
  const rt = runtimeFor(backend);
  return backend.run(
    (params) => writeValue(rt, execute(prog, rt, params, options.limits, options.inputs)),
    options.theta ?? prog.theta0,
  );
}

/**
 * Value and gradient of a program's (scalar) value w.r.t. its parameters at θ.
 *
 * @example
 * ```ts
 * import { f64Backend } from "./backend/f64/mod.ts";
 * const { value, grad } = valueAndGrad(loadProgram("(define k 3.0) (* k k)", "a.scm"), f64Backend);
 * // value 9, grad [6]
 * ```
 */
export function valueAndGrad(prog: Program, backend: Backend, options: RunOptions = {}): ValueAndGrad {
  const rt = runtimeFor(backend);
  return backend.valueAndGrad(
    (params) => execute(prog, rt, params, options.limits, options.inputs),
    options.theta ?? prog.theta0,
  );
}

/**
 * A program prepared for many value-and-gradient calls at different θ (an optimizer's): on
 * f64 it is traced (see lib/backend/f64/trace), elsewhere each call runs it afresh. Results
 * are those of `valueAndGrad`. `trace: false` turns tracing off.
 *
 * @example
 * ```ts
 * import { f64Backend } from "./backend/f64/mod.ts";
 * const s = stageProgram(loadProgram("(define k 3.0) (* k k)", "a.scm"), f64Backend);
 * s.valueAndGrad([3]).grad; // [6]; later calls replay the trace
 * ```
 */
export function stageProgram(
  prog: Program,
  backend: Backend,
  options: RunOptions & StageOptions = {},
): StagedFunction {
  const rt = runtimeFor(backend);
  return stageWithInputs(
    backend,
    options.inputs,
    (params, inputs) => execute(prog, rt, params, options.limits, inputs),
    options,
  );
}

/**
 * The tensor inputs (columns and `{ shape, data }`) of a program's inputs as data of a staged
 * call, in the inputs' order: on f64 they are trace inputs, so the staged function serves other
 * data of the same shapes (pass them, in this order, as `valueAndGrad(θ, data)`).
 *
 * @example
 * ```ts
 * dataInputs({ t: Float64Array.of(1, 2), n: 3 }); // { names: ["t"], data: [{ shape: [2], data: … }] }
 * ```
 */
export function dataInputs(inputs: Inputs = {}): { names: string[]; data: TensorData[] } {
  const names: string[] = [], data: TensorData[] = [];
  for (const [name, v] of Object.entries(inputs)) {
    if (v instanceof Float64Array) data.push({ shape: [v.length], data: v });
    else if (typeof v === "object" && !Array.isArray(v) && v.data instanceof Float64Array) data.push(v);
    else continue;
    names.push(name);
  }
  return { names, data };
}

/**
 * `run(params, inputs)` staged with the tensor inputs of `inputs` as data (see dataInputs): each
 * call binds the call's data (default: those of `inputs`) under the inputs' names.
 */
export function stageWithInputs(
  backend: Backend,
  inputs: Inputs | undefined,
  run: (params: unknown[], inputs: Inputs) => unknown,
  options: StageOptions,
): StagedFunction {
  const given = inputs ?? {}, { names, data } = dataInputs(given);
  const staged = backend.stage((params, values) => {
    const bound: Record<string, unknown> = { ...given };
    names.forEach((name, i) => bound[name] = values[i]);
    return { value: run(params, bound as Inputs) };
  }, options);
  return {
    valueAndGrad: (theta, d) => staged.valueAndGrad(theta, d ?? data),
    forward: (theta, d) => staged.forward(theta, d ?? data),
    stats: () => staged.stats(),
  };
}

/** `rt.write(v)`, a host stack overflow (data nested too deep to print) as a `limit` error. */
export function writeValue(rt: Runtime, v: unknown): string {
  try {
    return rt.write(v);
  } catch (e) {
    throw rt.stackLimit(e);
  }
}
