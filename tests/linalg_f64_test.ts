// Tests of the shared float64 linear-algebra kernels (lib/backend/linalg_f64.ts): factors and
// solves against results worked by hand in exact arithmetic, error messages, and every VJP
// against float64 central differences of the forward kernels.
import assert from "node:assert/strict";
import {
  choleskyLower,
  choleskyVjp,
  logdetFromCholesky,
  logdetVjp,
  luFactor,
  luSolve,
  luSolveTransposed,
  solveLower,
  solveLowerTransposed,
  solveVjp,
  symmetricPart,
} from "../lib/backend/linalg_f64.ts";
import { DmciError } from "../lib/errors.ts";

const F = (xs: readonly number[]): Float64Array => Float64Array.from(xs);

/** C = A B for row-major A (r×m) and B (m×c). */
function matmul(a: Float64Array, b: Float64Array, r: number, m: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += a[i * m + k] * b[k * c + j];
      out[i * c + j] = s;
    }
  }
  return out;
}

function transpose(a: Float64Array, r: number, c: number): Float64Array {
  const t = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = a[i * c + j];
  return t;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = ""): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i], a = actual[i];
    assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}[${i}]: got ${a}, expected ${e}`);
  }
}

function assertTypeError(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DmciError, `expected a DmciError, got ${e}`);
    assert.equal(e.kind, "type");
    assert.equal(e.message, message);
    return true;
  });
}

/** Σ W ⊙ f(x) with fixed mixed-sign weights, so no cotangent entry cancels by symmetry. */
const weights = (len: number): Float64Array =>
  F(Array.from({ length: len }, (_, i) => Math.cos(1.3 * i + 0.4)));
const weighted = (y: Float64Array, w: Float64Array): number => y.reduce((s, v, i) => s + v * w[i], 0);

/** ∂f/∂xᵢ by central differences with step h (relative to |xᵢ|). */
function centralDiff(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const step = h * Math.max(1, Math.abs(x[i]));
    const up = x.slice(), down = x.slice();
    up[i] += step;
    down[i] -= step;
    g[i] = (f(up) - f(down)) / (2 * step);
  }
  return g;
}

// L = [[2,0,0],[1,3,0],[-1,2,1]] and A = L Lᵀ: every step of the factorisation is exact in
// float64 (square roots of 4, 9 and 1), so the factor must come back bit for bit.
const L3 = F([2, 0, 0, 1, 3, 0, -1, 2, 1]);
const A3 = F([4, 2, -2, 2, 10, 5, -2, 5, 6]);

// A matrix whose first column has a zero leading entry and whose second pivot also swaps rows.
const P3 = F([0, 2, 1, 1, 1, 1, 3, 1, 0]);

Deno.test("choleskyLower: a 3×3 SPD matrix with an exact hand factor comes back exactly", () => {
  assert.deepEqual(choleskyLower(A3, 3, "cholesky"), L3);
  assert.deepEqual(matmul(L3, transpose(L3, 3, 3), 3, 3, 3), A3);
  assert.deepEqual(choleskyLower(F([4]), 1, "cholesky"), F([2]));
});

Deno.test("choleskyLower: factors the symmetric part, so an antisymmetric addition changes nothing", () => {
  const skew = F([0, 1, -3, -1, 0, 2, 3, -2, 0]);
  assert.deepEqual(choleskyLower(A3.map((v, i) => v + skew[i]), 3, "cholesky"), L3);
  assert.deepEqual(symmetricPart(A3.map((v, i) => v + skew[i]), 3), A3);
});

Deno.test("choleskyLower: a matrix that is not positive definite is a type error naming the op and the pivot", () => {
  assertTypeError(
    () => choleskyLower(F([1, 2, 2, 1]), 2, "cholesky"),
    "cholesky: the matrix is not positive definite (pivot 2 of 2 is -3)",
  );
  assertTypeError(
    () => choleskyLower(F([-1, 0, 0, 1]), 2, "logdet", "matrix of shape [2,2]"),
    "logdet: matrix of shape [2,2] is not positive definite (pivot 1 of 2 is -1)",
  );
  // NaN fails the pivot test rather than spreading silently.
  assertTypeError(
    () => choleskyLower(F([4, 0, 0, NaN]), 2, "cholesky"),
    "cholesky: the matrix is not positive definite (pivot 2 of 2 is NaN)",
  );
});

Deno.test("solveLower and solveLowerTransposed: recover X from L X and Lᵀ X, leaving B untouched", () => {
  const X = F([1, -2, 0.5, 3, -1, 4]); // 3×2
  const b = matmul(L3, X, 3, 3, 2), bCopy = b.slice();
  assertClose(solveLower(L3, b, 3, 2), X, 1e-15, "L⁻¹ B");
  assert.deepEqual(b, bCopy);
  const bt = matmul(transpose(L3, 3, 3), X, 3, 3, 2);
  assertClose(solveLowerTransposed(L3, bt, 3, 2), X, 1e-15, "L⁻ᵀ B");
  // By hand: L = [[2,0],[1,1]]; L x = [2,3] gives x = [1,2]; Lᵀ x = [4,1] gives x = [1.5,1].
  assert.deepEqual(solveLower(F([2, 0, 1, 1]), F([2, 3]), 2, 1), F([1, 2]));
  assert.deepEqual(solveLowerTransposed(F([2, 0, 1, 1]), F([4, 1]), 2, 1), F([1.5, 1]));
});

Deno.test("logdetFromCholesky: log det A = 2 Σ log Lᵢᵢ (det A3 = (2·3·1)² = 36)", () => {
  assertClose([logdetFromCholesky(choleskyLower(A3, 3, "logdet"), 3)], [Math.log(36)], 1e-15);
  assertClose([logdetFromCholesky(choleskyLower(F([4, 2, 2, 3]), 2, "logdet"), 2)], [Math.log(8)], 1e-15);
});

Deno.test("luFactor: partial pivoting picks the largest entry of each column and P A = L U", () => {
  const { lu, perm, n } = luFactor(P3, 3, "solve");
  assert.equal(n, 3);
  // Column 0: |3| is largest (row 2). Then rows [1,1,1] and [0,2,1] reduce to [0,2/3,1] and
  // [0,2,1]; |2| > |2/3| so the row from P3's row 0 comes second.
  assert.deepEqual([...perm], [2, 0, 1]);
  const l = new Float64Array(9), u = new Float64Array(9);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      if (j < i) l[i * 3 + j] = lu[i * 3 + j];
      else u[i * 3 + j] = lu[i * 3 + j];
    }
    l[i * 3 + i] = 1;
  }
  const pa = F([...perm].flatMap((r) => [...P3.subarray(3 * r, 3 * r + 3)]));
  assertClose(matmul(l, u, 3, 3, 3), pa, 1e-15, "L U");
});

Deno.test("luSolve and luSolveTransposed: exact rational solutions of a system that needs pivoting", () => {
  const f = luFactor(P3, 3, "solve");
  // P3 [1,2,3] = [7,6,5] and P3ᵀ [1,2,3] = [11,7,3], worked by hand.
  assertClose(luSolve(f, F([7, 6, 5]), 1), [1, 2, 3], 1e-15, "A⁻¹ b");
  assertClose(luSolveTransposed(f, F([11, 7, 3]), 1), [1, 2, 3], 1e-15, "A⁻ᵀ b");
  // Several right-hand sides at once: A⁻¹ (A X) = X and A⁻ᵀ (Aᵀ X) = X.
  const X = F([1, 0.5, -2, 4, 0.25, -1]);
  assertClose(luSolve(f, matmul(P3, X, 3, 3, 2), 2), X, 1e-14, "A⁻¹ A X");
  assertClose(luSolveTransposed(f, matmul(transpose(P3, 3, 3), X, 3, 3, 2), 2), X, 1e-14, "A⁻ᵀ Aᵀ X");
  // A permutation matrix: only swaps.
  assert.deepEqual(luSolve(luFactor(F([0, 1, 1, 0]), 2, "solve"), F([2, 3]), 1), F([3, 2]));
});

Deno.test("luFactor: a singular matrix is a type error naming the op and the zero pivot", () => {
  assertTypeError(
    () => luFactor(F([1, 2, 2, 4]), 2, "solve"),
    "solve: the matrix is singular (pivot 2 of 2 is 0)",
  );
  assertTypeError(
    () => luFactor(F([0, 1, 0, 1]), 2, "solve", "matrix of shape [2,2]"),
    "solve: matrix of shape [2,2] is singular (pivot 1 of 2 is 0)",
  );
  assertTypeError(
    () => luFactor(F([NaN, 1, 0, 1]), 2, "solve"),
    "solve: the matrix is singular (pivot 1 of 2 is NaN)",
  );
});

Deno.test("choleskyVjp: Murray's rule matches central differences in every raw entry of A", () => {
  const w = weights(9);
  const f = (a: Float64Array) => weighted(choleskyLower(a, 3, "cholesky"), w);
  // An asymmetric A: the factor reads ½(A + Aᵀ), so each raw entry has half the symmetric gradient.
  const a = A3.map((v, i) => v + 0.1 * Math.sin(i));
  const got = choleskyVjp(choleskyLower(a, 3, "cholesky"), w, 3);
  assertClose(got, centralDiff(f, a), 1e-8, "Ā");
  assert.deepEqual(got, symmetricPart(got, 3));
  // 1×1: L = √a, so Ā = L̄ / (2√a).
  assert.deepEqual(choleskyVjp(F([2]), F([1]), 1), F([0.25]));
});

Deno.test("logdetVjp: ḡ A⁻¹ matches central differences and A Ā = ḡ I", () => {
  const l = choleskyLower(A3, 3, "logdet");
  const got = logdetVjp(l, 3, 1.5);
  const f = (a: Float64Array) => 1.5 * logdetFromCholesky(choleskyLower(a, 3, "logdet"), 3);
  assertClose(got, centralDiff(f, A3), 1e-8, "Ā");
  assertClose(matmul(A3, got, 3, 3, 3), [1.5, 0, 0, 0, 1.5, 0, 0, 0, 1.5], 1e-14, "A Ā");
});

Deno.test("solveVjp: B̄ = A⁻ᵀ X̄ and Ā = −B̄ Xᵀ match central differences for a pivoting A", () => {
  const b = F([1, -2, 0.5, 3, -1, 4]), w = weights(6);
  const f = luFactor(P3, 3, "solve"), x = luSolve(f, b, 2);
  const { aBar, bBar } = solveVjp(f, x, w, 2);
  const viaA = (a: Float64Array) => weighted(luSolve(luFactor(a, 3, "solve"), b, 2), w);
  const viaB = (bb: Float64Array) => weighted(luSolve(f, bb, 2), w);
  assertClose(aBar, centralDiff(viaA, P3), 1e-8, "Ā");
  assertClose(bBar, centralDiff(viaB, b), 1e-8, "B̄");
});
