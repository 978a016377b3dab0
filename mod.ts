/**
 * dmci — the public API, importable by URL. Read a program, run it, or take the
 * gradient of its value w.r.t. its decimal literals on the tfjs or f64 backend.
 *
 * @example
 * ```ts
 * import { backendByName, loadProgram, valueAndGrad } from "./mod.ts";
 * const prog = loadProgram("(define k 3.0) (* k k)", "square.scm");
 * const { value, grad } = valueAndGrad(prog, await backendByName("f64")); // 9, [6]
 * ```
 * @module
 */
export { DmciError, type ErrorKind, formatSpan, type Span } from "./lib/errors.ts";
export type { Datum } from "./lib/read/datum.ts";
export { read, readOne } from "./lib/read/reader.ts";
export { datumToValue } from "./lib/read/datum_value.ts";
export { expandProgram } from "./lib/expand/expander.ts";
export { compile } from "./lib/compile/compiler.ts";
export { DEFAULT_LIMITS, type Limits } from "./lib/compile/runtime.ts";
export {
  execute,
  findParams,
  type LoadOptions,
  loadProgram,
  type ParamInfo,
  type Program,
  type RunOptions,
  runProgram,
  runtimeFor,
  valueAndGrad,
} from "./lib/program.ts";
export { Session } from "./lib/session.ts";
export { interpretedValueAndGrad, runInterpreted } from "./lib/dmci.ts";
export { verifyPaths, verifyProgram } from "./lib/verify.ts";
export { type LoadedSpec, loadSpec, parseSpec, type Spec } from "./lib/fit/spec.ts";
export { type FitOptions, type FitResult, fitSpec } from "./lib/fit/fit.ts";
export { type Primitive, PRIMITIVES } from "./lib/primitives.ts";
export type { Backend, Nested, ParamValue, TensorData, ValueAndGrad } from "./lib/backend/backend.ts";
export { BACKEND_NAMES, backendByName, type BackendName, DEFAULT_BACKEND } from "./lib/backend/select.ts";
export { f64Backend } from "./lib/backend/f64/mod.ts";
export { list, NIL, Pair, Sym, UNSPECIFIED, write } from "./lib/values.ts";
export {
  type EvalAnswer,
  type EvalQuery,
  FitClient,
  type FitClientOptions,
  FitServerError,
  type FitSubmission,
  type FitView,
  type SearchProgressRecord,
  type SearchSubmission,
  type SearchView,
} from "./lib/client.ts";
