/**
 * Shared machinery of the primitive tests (tests/primitives*_test.ts): runs a case program
 * on a backend with its decimal literals as constants or as tracked parameters, compares
 * written values with a numeric tolerance, and checks gradients against float64 central
 * differences. It holds no cases (tests/primitives_cases.ts does); `registerPrimitiveTests`
 * is how the per-group test files register theirs.
 */
import assert from "node:assert/strict";
import type { Backend } from "../lib/backend/backend.ts";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { tfjsBackend } from "../lib/backend/tfjs/mod.ts";
import { DmciError, type ErrorKind } from "../lib/errors.ts";
import { type PrimGroup, PRIMITIVES } from "../lib/primitives.ts";
import { execute, loadProgram, type Program, runtimeFor, valueAndGrad } from "../lib/program.ts";
import { Pair } from "../lib/values.ts";

/** Both backends, float64 first. */
export const BACKENDS: readonly Backend[] = [f64Backend, tfjsBackend];

/**
 * How a case's decimal literals enter: `const` runs as `runProgram` does (parameters are plain
 * JS numbers, so scalar arithmetic never reaches the backend); `tracked` runs inside
 * `valueAndGrad` (parameters are backend tensors, so every op on them goes through the backend).
 */
export type Mode = "const" | "tracked";

/** A number expected within a tolerance of its own (overrides the backend's). */
export interface Approx {
  readonly approx: number;
  /** Relative tolerance (default: the backend's). */
  readonly rel?: number;
  /** Absolute tolerance (default 0). */
  readonly abs?: number;
}

/** An expected error: its kind and, optionally, a pattern its message must match. */
export interface ErrorWant {
  readonly error: ErrorKind;
  readonly message?: RegExp;
}

/** Written text that must match exactly on every backend (for `-0.0` versus `0`, say). */
export interface Exact {
  readonly text: string;
}

/**
 * What a case must produce: its value in write syntax (numbers compared with the backend's
 * tolerance), a number, an approximate number, exact text, or an error.
 */
export type Want = string | number | Approx | Exact | ErrorWant;

/** One value case: a program and what it must produce. */
export interface ValueCase {
  readonly src: string;
  readonly want: Want;
  /** Modes to run in (default both). */
  readonly modes?: readonly Mode[];
}

/** Shorthand for an error expectation. */
export function err(kind: ErrorKind, message?: RegExp): ErrorWant {
  return { error: kind, message };
}

/** Shorthand for exact written text. */
export function exact(text: string): Exact {
  return { text };
}

/** Shorthand for an approximate number. */
export function near(x: number, rel?: number, abs?: number): Approx {
  return { approx: x, rel, abs };
}

/** Default tolerances of value comparisons, per backend: f64 exact up to rounding, tfjs float32. */
export function valueTolerance(b: Backend): { rel: number; abs: number } {
  return b.name === "f64" ? { rel: 1e-12, abs: 1e-300 } : { rel: 1e-5, abs: 1e-6 };
}

const programs = new Map<string, Program>();

/** Loads (once) a case program. */
export function load(src: string): Program {
  let p = programs.get(src);
  if (!p) programs.set(src, p = loadProgram(src, "t.scm"));
  return p;
}

/**
 * Runs a program and returns its raw value passed through `inspect` (inside the backend's
 * scope, so tensors are still alive), or the DmciError it raised.
 */
export function runWith<T>(
  src: string,
  b: Backend,
  mode: Mode,
  inspect: (v: unknown) => T,
): { value: T } | { error: DmciError } {
  const prog = load(src);
  const rt = runtimeFor(b);
  try {
    if (mode === "const") return { value: b.run((ps) => inspect(execute(prog, rt, ps)), prog.theta0) };
    let out: T | undefined;
    b.valueAndGrad((ps) => {
      out = inspect(execute(prog, rt, ps));
      return 0;
    }, prog.theta0);
    return { value: out as T };
  } catch (e) {
    if (e instanceof DmciError) return { error: e };
    throw e;
  }
}

const TOKEN = /"(?:[^"\\]|\\.)*"|[()]|[^\s()]+/g;
const NUMBER = /^[+-]?(?:\d+\.?\d*(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?|inf\.0|nan\.0)$/i;

function parseNumber(t: string): number {
  if (/^\+?inf\.0$/.test(t)) return Infinity;
  if (t === "-inf.0") return -Infinity;
  if (/nan\.0$/.test(t)) return NaN;
  return Number(t);
}

/** True when a and b agree within |a-b| ≤ rel·max(|a|,|b|) + abs (NaN matches NaN, infinities exactly). */
export function close(a: number, b: number, rel: number, abs: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)) + abs;
}

/**
 * Compares a written value with the expected text token by token: numbers within the
 * tolerance, everything else (parentheses, symbols, strings, `#<tensor`) exactly.
 * Returns undefined when they match, else a description of the first difference.
 */
export function compareWritten(got: string, want: string, rel: number, abs: number): string | undefined {
  const g = got.match(TOKEN) ?? [];
  const w = want.match(TOKEN) ?? [];
  if (g.length !== w.length) return `got ${got}, expected ${want}`;
  for (let i = 0; i < w.length; i++) {
    if (NUMBER.test(w[i]) && NUMBER.test(g[i])) {
      if (!close(parseNumber(g[i]), parseNumber(w[i]), rel, abs)) return `got ${got}, expected ${want}`;
    } else if (g[i] !== w[i]) return `got ${got}, expected ${want}`;
  }
  return undefined;
}

/** Checks one value case on one backend in one mode; returns a failure message or undefined. */
export function checkValue(c: ValueCase, b: Backend, mode: Mode): string | undefined {
  const rt = runtimeFor(b);
  const where = `${b.name}/${mode}: ${c.src}`;
  const r = runWith(c.src, b, mode, (v) => rt.write(v));
  const want = c.want;
  if (typeof want === "object" && "error" in want) {
    if (!("error" in r)) return `${where}: expected a ${want.error} error, got ${r.value}`;
    if (r.error.kind !== want.error) return `${where}: expected a ${want.error} error, got ${r.error}`;
    if (want.message && !want.message.test(r.error.message)) {
      return `${where}: message ${JSON.stringify(r.error.message)} does not match ${want.message}`;
    }
    if (!r.error.span) return `${where}: the error has no source position: ${r.error}`;
    return undefined;
  }
  if ("error" in r) return `${where}: unexpected ${r.error}`;
  if (typeof want === "object" && "text" in want) {
    return r.value === want.text ? undefined : `${where}: got ${r.value}, expected exactly ${want.text}`;
  }
  const tol = valueTolerance(b);
  if (typeof want === "string") {
    const d = compareWritten(r.value, want, tol.rel, tol.abs);
    return d && `${where}: ${d}`;
  }
  const x = NUMBER.test(r.value) ? parseNumber(r.value) : NaN;
  const [target, rel, abs] = typeof want === "number"
    ? [want, tol.rel, tol.abs]
    : [want.approx, want.rel ?? tol.rel, want.abs ?? 0];
  if (!NUMBER.test(r.value) || !close(x, target, rel, abs)) {
    return `${where}: got ${r.value}, expected ${target} (rel ${rel}, abs ${abs})`;
  }
  return undefined;
}

/** Runs every case of a primitive on both backends in all its modes and fails listing every failure. */
export function assertValueCases(name: string, cases: readonly ValueCase[]): void {
  const failures: string[] = [];
  for (const c of cases) {
    for (const b of BACKENDS) {
      for (const mode of c.modes ?? ["const", "tracked"] as const) {
        const f = checkValue(c, b, mode);
        if (f) failures.push(f);
      }
    }
  }
  assert.deepEqual(failures, [], `${name}: ${failures.length} failing case(s):\n${failures.join("\n")}`);
}

/** The value of a scalar program at θ on f64 with constant parameters. */
export function f64Value(prog: Program, theta: readonly number[]): number {
  const rt = runtimeFor(f64Backend);
  return f64Backend.run((ps) => f64Backend.toNumber(execute(prog, rt, ps)), theta);
}

/** Relative gradient tolerance per backend. */
export function gradTolerance(b: Backend): number {
  return b.name === "f64" ? 1e-6 : 2e-3;
}

/**
 * Checks a gradient case on a backend: the value against f64's, and each partial
 * derivative against the float64 central difference with h = 1e-6·max(1, |θᵢ|), relative
 * to max(|analytic|, |numeric|, 1e-3). Returns failure messages (none when it passes).
 */
export function checkGrad(src: string, b: Backend): string[] {
  const prog = load(src);
  const theta = prog.theta0.slice();
  const where = `${b.name}: ${src}`;
  if (theta.length === 0) return [`${where}: the case has no parameters`];
  const tol = gradTolerance(b);
  const f0 = f64Value(prog, theta);
  let got;
  try {
    got = valueAndGrad(prog, b);
  } catch (e) {
    return [`${where}: ${e}`];
  }
  const out: string[] = [];
  if (!close(got.value, f0, b.name === "f64" ? 1e-12 : 1e-4, b.name === "f64" ? 0 : 1e-5)) {
    out.push(`${where}: value ${got.value}, f64 value ${f0}`);
  }
  let sensitive = false;
  prog.params.forEach((p, i) => {
    const h = 1e-6 * Math.max(1, Math.abs(theta[i]));
    const at = (d: number) => f64Value(prog, theta.map((t, j) => (j === i ? t + d : t)));
    const fd = (at(h) - at(-h)) / (2 * h);
    const g = got.grad[i];
    if (typeof g !== "number") {
      out.push(`${where}: gradient of ${p.name} is not a number`);
      return;
    }
    if (Math.abs(fd) > 1e-3) sensitive = true;
    const denom = Math.max(Math.abs(g), Math.abs(fd), 1e-3);
    if (!(Math.abs(g - fd) <= tol * denom)) {
      out.push(
        `${where}: d/d${p.name} = ${g}, central difference ${fd} (rel err ${Math.abs(g - fd) / denom})`,
      );
    }
  });
  if (!sensitive) out.push(`${where}: the value does not depend on any parameter; the case tests nothing`);
  return out;
}

/** Runs the gradient cases of a primitive on both backends and fails listing every failure. */
export function assertGradCases(name: string, cases: readonly string[]): void {
  const failures = cases.flatMap((src) => BACKENDS.flatMap((b) => checkGrad(src, b)));
  assert.deepEqual(
    failures,
    [],
    `${name}: ${failures.length} failing gradient check(s):\n${failures.join("\n")}`,
  );
}

/** True when a value (walking pairs) contains a backend tensor. */
export function containsTensor(b: Backend, v: unknown): boolean {
  for (;;) {
    if (b.isTensor(v)) return true;
    if (!(v instanceof Pair)) return false;
    if (containsTensor(b, v.car)) return true;
    v = v.cdr;
  }
}

/** Which test file runs the cases of which groups of the primitive table. */
export const GROUPS_BY_FILE: Readonly<Record<string, readonly PrimGroup[]>> = {
  "primitives_numbers_test.ts": ["numbers", "booleans"],
  "primitives_lists_test.ts": ["lists", "control", "symbols and strings"],
  "primitives_tensors_test.ts": ["tensors", "linear algebra"],
};

/**
 * Registers, for every primitive of the file's groups, one test of its value cases and one
 * of its gradient cases (tests/primitives_test.ts fails on primitives without cases).
 */
export function registerPrimitiveTests(
  file: string,
  values: Readonly<Record<string, readonly ValueCase[]>>,
  grads: Readonly<Record<string, readonly string[]>>,
): void {
  const groups = GROUPS_BY_FILE[file];
  assert.ok(groups, `${file} is not in GROUPS_BY_FILE`);
  for (const p of PRIMITIVES.filter((p) => groups.includes(p.group))) {
    const vs = values[p.name];
    if (vs) {
      Deno.test(`${p.name}: values on f64 and tfjs, with constants and with parameters`, () => {
        assertValueCases(p.name, vs);
      });
    }
    const gs = grads[p.name];
    if (gs) {
      Deno.test(`${p.name}: gradients on f64 and tfjs match float64 central differences`, () => {
        assertGradCases(p.name, gs);
      });
    }
  }
}
