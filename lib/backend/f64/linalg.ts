/**
 * cholesky, solve and logdet of the f64 backend: tape nodes around the shared float64 kernels of
 * ../linalg_f64.ts (which own the algorithms and the VJP formulas). This file only checks shapes,
 * keeps what each VJP needs in the node's aux, and adds the kernels' cotangents into the inputs.
 */
import { DmciError } from "../../errors.ts";
import {
  choleskyLower,
  choleskyVjp,
  logdetFromCholesky,
  logdetVjp,
  luFactor,
  type LuFactors,
  luSolve,
  solveVjp,
} from "../linalg_f64.ts";
import { fmtShape, node } from "./ops.ts";
import { addGrad, isTracked, make, needsGrad, type Node, SCALAR } from "./tape.ts";

/** The order n of a square matrix node, or a type error naming the op and the shape. */
function order(op: string, a: Node): number {
  const sh = a.shape;
  if (sh.length !== 2 || sh[0] !== sh[1]) {
    throw new DmciError("type", `${op}: expected a square matrix, got shape ${fmtShape(sh)}`);
  }
  return sh[0];
}

/** How the kernels' error messages name an n×n matrix on this backend. */
const subject = (n: number): string => `matrix of shape [${n},${n}]`;

function choleskyNodeVjp(nd: Node): void {
  addGrad(nd.a as Node, choleskyVjp(nd.data!, nd.gd!, nd.aux as number));
}

/**
 * Lower-triangular L with L Lᵀ = A for symmetric positive-definite A (the symmetric part of A
 * is used). Throws a DmciError "type" if A is not positive definite.
 */
export function cholesky(x: unknown): Node {
  const a = node("cholesky", x), n = order("cholesky", a);
  const L = choleskyLower(a.data!, n, "cholesky", subject(n));
  return make(a.shape, 0, L, isTracked(a), choleskyNodeVjp, a, null, n);
}

interface LogdetAux {
  readonly L: Float64Array;
  readonly n: number;
}

function logdetNodeVjp(nd: Node): void {
  const { L, n } = nd.aux as LogdetAux;
  addGrad(nd.a as Node, logdetVjp(L, n, nd.g));
}

/** log det A = 2 Σ log Lᵢᵢ for symmetric positive-definite A; gradient A⁻¹. */
export function logdet(x: unknown): Node {
  const a = node("logdet", x), n = order("logdet", a), L = choleskyLower(a.data!, n, "logdet", subject(n));
  return make(SCALAR, logdetFromCholesky(L, n), null, isTracked(a), logdetNodeVjp, a, null, { L, n });
}

interface SolveAux {
  readonly f: LuFactors;
  readonly m: number;
}

function solveNodeVjp(nd: Node): void {
  const { f, m } = nd.aux as SolveAux, a = nd.a as Node, b = nd.b as Node;
  const { aBar, bBar } = solveVjp(f, nd.data!, nd.gd!, m);
  if (needsGrad(b, nd)) addGrad(b, bBar);
  if (needsGrad(a, nd)) addGrad(a, aBar);
}

/** x with A x = b for square A and b a vector [n] or matrix [n,m]; x has b's shape. */
export function solve(x: unknown, y: unknown): Node {
  const a = node("solve", x), n = order("solve", a), b = node("solve", y), sb = b.shape;
  if (sb.length < 1 || sb.length > 2 || sb[0] !== n) {
    throw new DmciError(
      "type",
      `solve: right-hand side of shape ${fmtShape(sb)} does not fit a matrix of shape ${fmtShape(a.shape)}`,
    );
  }
  const m = sb.length === 2 ? sb[1] : 1, f = luFactor(a.data!, n, "solve", subject(n));
  const tracked = isTracked(a) || isTracked(b);
  return make(sb, 0, luSolve(f, b.data!, m), tracked, solveNodeVjp, a, b, { f, m });
}
