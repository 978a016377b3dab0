/**
 * The f64 backend's elementwise inner loops: one loop per frequent op instead of a rule call
 * per element, for operands that are full (one element per result element) or single (one
 * value for all). They use the formulas and operation order of the rule tables in ops.ts, so
 * results are bit-identical to them; ops.ts chooses the loop, this module knows no tape.
 */

/** An elementwise binary value function. */
export type BinaryFn = (a: number, b: number) => number;
/** A partial derivative of a binary op given its operands and its value y. */
export type BinaryPartial = (a: number, b: number, y: number) => number;
/** An elementwise unary value function. */
export type UnaryFn = (x: number) => number;
/** The derivative of a unary op given its operand and its value y. */
export type UnaryPartial = (x: number, y: number) => number;

/** Codes of the binary ops with loops of their own; `B_RULE` means "call the rule". */
export const B_RULE = 0, B_ADD = 1, B_SUB = 2, B_MUL = 3, B_DIV = 4;

/** Codes of the unary ops with loops of their own; `U_RULE` means "call the rule". */
export const U_RULE = 0,
  U_NEG = 1,
  U_ABS = 2,
  U_EXP = 3,
  U_LOG = 4,
  U_SQRT = 5,
  U_SQUARE = 6,
  U_SIN = 7,
  U_COS = 8,
  U_TANH = 9,
  U_SIGMOID = 10,
  U_SOFTPLUS = 11,
  U_RELU = 12;

/**
 * Logistic function without overflow: exp is only ever taken of a non-positive number.
 *
 * @example
 * ```ts
 * sigmoid(0); // 0.5
 * sigmoid(-800); // a tiny positive number, not NaN
 * ```
 */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * σ'(x) = σ(1−σ), written as e/(1+e)² with e = exp(−|x|) so that it keeps its precision for
 * large |x|.
 *
 * @example
 * ```ts
 * sigmoidDeriv(0); // 0.25
 * ```
 */
export function sigmoidDeriv(x: number): number {
  const e = Math.exp(-Math.abs(x));
  return e / ((1 + e) * (1 + e));
}

/**
 * Softplus log(1 + eˣ) without overflow.
 *
 * @example
 * ```ts
 * softplus(1000); // 1000
 * ```
 */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

// ---------------------------------------------------------------------------------------------
// Binary forward: out[i] = f(a, b) with a and b elementwise or one value

/**
 * out[i] = f(a[i], b[i]) where `ad` / `bd` are the elements, or, when null, the one value
 * `av` / `bv` stands for every element.
 *
 * @example
 * ```ts
 * const out = new Float64Array(2);
 * binaryForward(B_ADD, (a, b) => a + b, Float64Array.of(1, 2), 0, null, 10, out); // out = [11, 12]
 * ```
 */
export function binaryForward(
  code: number,
  f: BinaryFn,
  ad: Float64Array | null,
  av: number,
  bd: Float64Array | null,
  bv: number,
  out: Float64Array,
): void {
  if (ad !== null && bd !== null) binaryFull(code, f, ad, bd, out);
  else if (ad !== null) binaryRightValue(code, f, ad, bv, out);
  else if (bd !== null) binaryLeftValue(code, f, av, bd, out);
  else out.fill(f(av, bv));
}

function binaryFull(code: number, f: BinaryFn, a: Float64Array, b: Float64Array, out: Float64Array): void {
  const n = out.length;
  switch (code) {
    case B_ADD:
      for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
      return;
    case B_SUB:
      for (let i = 0; i < n; i++) out[i] = a[i] - b[i];
      return;
    case B_MUL:
      for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
      return;
    case B_DIV:
      for (let i = 0; i < n; i++) out[i] = a[i] / b[i];
      return;
    default:
      for (let i = 0; i < n; i++) out[i] = f(a[i], b[i]);
  }
}

function binaryLeftValue(code: number, f: BinaryFn, a: number, b: Float64Array, out: Float64Array): void {
  const n = out.length;
  switch (code) {
    case B_ADD:
      for (let i = 0; i < n; i++) out[i] = a + b[i];
      return;
    case B_SUB:
      for (let i = 0; i < n; i++) out[i] = a - b[i];
      return;
    case B_MUL:
      for (let i = 0; i < n; i++) out[i] = a * b[i];
      return;
    case B_DIV:
      for (let i = 0; i < n; i++) out[i] = a / b[i];
      return;
    default:
      for (let i = 0; i < n; i++) out[i] = f(a, b[i]);
  }
}

function binaryRightValue(code: number, f: BinaryFn, a: Float64Array, b: number, out: Float64Array): void {
  const n = out.length;
  switch (code) {
    case B_ADD:
      for (let i = 0; i < n; i++) out[i] = a[i] + b;
      return;
    case B_SUB:
      for (let i = 0; i < n; i++) out[i] = a[i] - b;
      return;
    case B_MUL:
      for (let i = 0; i < n; i++) out[i] = a[i] * b;
      return;
    case B_DIV:
      for (let i = 0; i < n; i++) out[i] = a[i] / b;
      return;
    default:
      for (let i = 0; i < n; i++) out[i] = f(a[i], b);
  }
}

// ---------------------------------------------------------------------------------------------
// Binary VJP. "Into" loops write dst[i] = base + g[i]·∂ with base dst[i] when `acc`, else 0
// (exactly what adding into a fresh zero buffer gives, so dst may then be g itself); "sum"
// loops return s + Σ g[i]·∂ added in element order, for an operand broadcast from one value.

/**
 * The gradient of a full first operand: dst[i] (+)= g[i]·∂f/∂a(a[i], b, y[i]), b being `bd`
 * elementwise or the value `bv` when `bd` is null.
 *
 * @example
 * ```ts
 * const dst = new Float64Array(2);
 * gradAInto(B_MUL, (_a, b) => b, dst, true, Float64Array.of(1, 1), dst, dst, null, 3); // dst = [3, 3]
 * ```
 */
export function gradAInto(
  code: number,
  da: BinaryPartial,
  dst: Float64Array,
  acc: boolean,
  g: Float64Array,
  y: Float64Array,
  ad: Float64Array,
  bd: Float64Array | null,
  bv: number,
): void {
  const n = g.length;
  switch (code) {
    case B_ADD:
    case B_SUB:
      for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i];
      return;
    case B_MUL:
      if (bd === null) { for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * bv; }
      else for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * bd[i];
      return;
    case B_DIV:
      if (bd === null) {
        const inv = 1 / bv;
        for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * inv;
      } else {
        for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * (1 / bd[i]);
      }
      return;
    default:
      for (let i = 0; i < n; i++) {
        dst[i] = (acc ? dst[i] : 0) + g[i] * da(ad[i], bd === null ? bv : bd[i], y[i]);
      }
  }
}

/**
 * The gradient of a full second operand: dst[i] (+)= g[i]·∂f/∂b(a, b[i], y[i]), a being `ad`
 * elementwise or the value `av` when `ad` is null.
 *
 * @example
 * ```ts
 * const dst = new Float64Array(2);
 * gradBInto(B_SUB, () => -1, dst, true, Float64Array.of(1, 2), dst, null, 0, dst); // dst = [-1, -2]
 * ```
 */
export function gradBInto(
  code: number,
  db: BinaryPartial,
  dst: Float64Array,
  acc: boolean,
  g: Float64Array,
  y: Float64Array,
  ad: Float64Array | null,
  av: number,
  bd: Float64Array,
): void {
  const n = g.length;
  switch (code) {
    case B_ADD:
      for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i];
      return;
    case B_SUB: // g·(−1) is −g exactly, and x + (−g) is x − g
      for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) - g[i];
      return;
    case B_MUL:
      if (ad === null) { for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * av; }
      else for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * ad[i];
      return;
    case B_DIV:
      for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * (-y[i] / bd[i]);
      return;
    default:
      for (let i = 0; i < n; i++) {
        dst[i] = (acc ? dst[i] : 0) + g[i] * db(ad === null ? av : ad[i], bd[i], y[i]);
      }
  }
}

/**
 * s + Σ g[i]·∂f/∂a(a, b, y[i]) for a first operand of one value `av` (b as in `gradAInto`).
 *
 * @example
 * ```ts
 * gradASum(B_ADD, () => 1, 0, Float64Array.of(1, 2), Float64Array.of(0, 0), 5, null, 0); // 3
 * ```
 */
export function gradASum(
  code: number,
  da: BinaryPartial,
  s: number,
  g: Float64Array,
  y: Float64Array,
  av: number,
  bd: Float64Array | null,
  bv: number,
): number {
  const n = g.length;
  switch (code) {
    case B_ADD:
    case B_SUB:
      for (let i = 0; i < n; i++) s += g[i];
      return s;
    case B_MUL:
      if (bd === null) { for (let i = 0; i < n; i++) s += g[i] * bv; }
      else for (let i = 0; i < n; i++) s += g[i] * bd[i];
      return s;
    case B_DIV:
      if (bd === null) {
        const inv = 1 / bv;
        for (let i = 0; i < n; i++) s += g[i] * inv;
      } else {
        for (let i = 0; i < n; i++) s += g[i] * (1 / bd[i]);
      }
      return s;
    default:
      for (let i = 0; i < n; i++) s += g[i] * da(av, bd === null ? bv : bd[i], y[i]);
      return s;
  }
}

/**
 * s + Σ g[i]·∂f/∂b(a, b, y[i]) for a second operand of one value `bv` (a as in `gradBInto`).
 *
 * @example
 * ```ts
 * gradBSum(B_SUB, () => -1, 0, Float64Array.of(1, 2), Float64Array.of(0, 0), null, 5, 0); // -3
 * ```
 */
export function gradBSum(
  code: number,
  db: BinaryPartial,
  s: number,
  g: Float64Array,
  y: Float64Array,
  ad: Float64Array | null,
  av: number,
  bv: number,
): number {
  const n = g.length;
  switch (code) {
    case B_ADD:
      for (let i = 0; i < n; i++) s += g[i];
      return s;
    case B_SUB:
      for (let i = 0; i < n; i++) s -= g[i];
      return s;
    case B_MUL:
      if (ad === null) { for (let i = 0; i < n; i++) s += g[i] * av; }
      else for (let i = 0; i < n; i++) s += g[i] * ad[i];
      return s;
    case B_DIV:
      for (let i = 0; i < n; i++) s += g[i] * (-y[i] / bv);
      return s;
    default:
      for (let i = 0; i < n; i++) s += g[i] * db(ad === null ? av : ad[i], bv, y[i]);
      return s;
  }
}

// ---------------------------------------------------------------------------------------------
// Unary

/**
 * out[i] = f(x[i]).
 *
 * @example
 * ```ts
 * const out = new Float64Array(2);
 * unaryForward(U_SQUARE, (x) => x * x, Float64Array.of(2, 3), out); // out = [4, 9]
 * ```
 */
export function unaryForward(code: number, f: UnaryFn, x: Float64Array, out: Float64Array): void {
  const n = out.length;
  switch (code) {
    case U_NEG:
      for (let i = 0; i < n; i++) out[i] = -x[i];
      return;
    case U_ABS:
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]);
      return;
    case U_EXP:
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]);
      return;
    case U_LOG:
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]);
      return;
    case U_SQRT:
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]);
      return;
    case U_SQUARE:
      for (let i = 0; i < n; i++) out[i] = x[i] * x[i];
      return;
    case U_SIN:
      for (let i = 0; i < n; i++) out[i] = Math.sin(x[i]);
      return;
    case U_COS:
      for (let i = 0; i < n; i++) out[i] = Math.cos(x[i]);
      return;
    case U_TANH:
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]);
      return;
    case U_SIGMOID:
      for (let i = 0; i < n; i++) out[i] = sigmoid(x[i]);
      return;
    case U_SOFTPLUS:
      for (let i = 0; i < n; i++) out[i] = softplus(x[i]);
      return;
    case U_RELU:
      for (let i = 0; i < n; i++) out[i] = Math.max(x[i], 0);
      return;
    default:
      for (let i = 0; i < n; i++) out[i] = f(x[i]);
  }
}

/**
 * The gradient of a unary op's operand: dst[i] = base + g[i]·d(x[i], y[i]) with base dst[i]
 * when `acc`, else 0 (dst may then be g itself).
 *
 * @example
 * ```ts
 * const dst = new Float64Array(1);
 * unaryGradInto(U_EXP, (_x, y) => y, dst, true, Float64Array.of(2), Float64Array.of(0), Float64Array.of(1));
 * // dst = [2]
 * ```
 */
export function unaryGradInto(
  code: number,
  d: UnaryPartial,
  dst: Float64Array,
  acc: boolean,
  g: Float64Array,
  x: Float64Array,
  y: Float64Array,
): void {
  const n = g.length;
  switch (code) {
    case U_NEG: // g·(−1) is −g exactly, and x + (−g) is x − g
      for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) - g[i];
      return;
    case U_ABS:
      for (let i = 0; i < n; i++) {
        const v = x[i];
        dst[i] = (acc ? dst[i] : 0) + g[i] * (v > 0 ? 1 : v < 0 ? -1 : 0);
      }
      return;
    case U_EXP:
      for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * y[i];
      return;
    case U_LOG:
      for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * (1 / x[i]);
      return;
    case U_SQRT:
      for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * (0.5 / y[i]);
      return;
    case U_SQUARE:
      for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * (2 * x[i]);
      return;
    case U_SIN:
      for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * Math.cos(x[i]);
      return;
    case U_COS:
      for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * -Math.sin(x[i]);
      return;
    case U_TANH:
      for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * (1 - y[i] * y[i]);
      return;
    case U_SIGMOID:
      for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * sigmoidDeriv(x[i]);
      return;
    case U_SOFTPLUS:
      for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * sigmoid(x[i]);
      return;
    case U_RELU:
      for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * (x[i] > 0 ? 1 : 0);
      return;
    default:
      for (let i = 0; i < n; i++) dst[i] = (acc ? dst[i] : 0) + g[i] * d(x[i], y[i]);
  }
}
