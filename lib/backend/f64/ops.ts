/**
 * The f64 backend's ops: for each, the forward rule and its vector-Jacobian product side by
 * side (elementwise ops as a table of value and partial-derivative functions). Ops read their
 * inputs, never mutate them, and touch the tape only through `make` in tape.ts.
 */
import { DmciError } from "../../errors.ts";
import type { BinaryOp, Nested, UnaryOp } from "../backend.ts";
import {
  addGrad,
  gradBuf,
  isTracked,
  make,
  needsGrad,
  Node,
  type Operand,
  outGrad,
  SCALAR,
  scalarConst,
  tensorConst,
  type Vjp,
} from "./tape.ts";
import {
  B_ADD,
  B_DIV,
  B_MUL,
  B_RULE,
  B_SUB,
  type BinaryFn,
  binaryForward,
  type BinaryPartial,
  gradAInto,
  gradASum,
  gradBInto,
  gradBSum,
  sigmoid,
  sigmoidDeriv,
  softplus,
  U_ABS,
  U_COS,
  U_EXP,
  U_LOG,
  U_NEG,
  U_RELU,
  U_RULE,
  U_SIGMOID,
  U_SIN,
  U_SOFTPLUS,
  U_SQRT,
  U_SQUARE,
  U_TANH,
  type UnaryFn,
  unaryForward,
  unaryGradInto,
  type UnaryPartial,
} from "./kernels.ts";

// ---------------------------------------------------------------------------------------------
// Shapes and argument checks

/** A shape as `[2,3]`, the form every error message uses. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** Number of elements of a shape (1 for rank 0). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

/** Throws a DmciError "limit" if a result of `shape` would exceed `max` elements. */
export function checkSize(op: string, shape: readonly number[], max: number): void {
  const n = sizeOf(shape);
  if (n > max) {
    throw new DmciError(
      "limit",
      `${op}: a result of shape ${fmtShape(shape)} would have ${n} elements, more than the limit of ${max}`,
    );
  }
}

/** A short description of a non-tensor value for error messages. */
export function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  if (x instanceof Node) return `a tensor of shape ${fmtShape(x.shape)}`;
  return typeof x === "object" ? "an object" : `a ${typeof x}`;
}

/** x as a node: nodes pass, numbers become rank-0 constants, anything else is a type error. */
export function node(op: string, x: unknown): Node {
  if (x instanceof Node) return x;
  if (typeof x === "number") return scalarConst(x);
  throw new DmciError("type", `${op}: expected a number or tensor, got ${describe(x)}`);
}

/** Checks that `shape` is an array of non-negative integers and returns a private copy. */
export function shapeArg(op: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new DmciError(
      "type",
      `${op}: a shape must be a list of non-negative integers, got ${String(shape)}`,
    );
  }
  return shape.slice();
}

/** A possibly negative axis as an index in [0, rank), or a type error naming the op and shape. */
function axisArg(op: string, axis: number, rank: number, shape: readonly number[]): number {
  const ax = Number.isInteger(axis) && axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(ax) || ax < 0 || ax >= rank) {
    throw new DmciError("type", `${op}: axis ${axis} is out of range for shape ${fmtShape(shape)}`);
  }
  return ax;
}

/**
 * The index map of a strided view: entry i is the flat input index of output element i, where
 * output is `shape` row-major and input index = offset + Σ idx[d]·strides[d]. Shared by
 * broadcasting (stride 0 on broadcast axes), slice and transpose.
 */
function stridedMap(shape: readonly number[], strides: readonly number[], offset: number): Int32Array {
  const r = shape.length, total = sizeOf(shape), map = new Int32Array(total);
  const idx = new Array<number>(r).fill(0);
  let pos = offset;
  for (let i = 0; i < total; i++) {
    map[i] = pos;
    for (let d = r - 1; d >= 0; d--) {
      pos += strides[d];
      if (++idx[d] < shape[d]) break;
      pos -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return map;
}

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let st = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = st;
    st *= shape[d];
  }
  return s;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A rule table as an object without prototype: a property read is cheaper than `Map.get` on
 * the scalar hot path, and no inherited name (`toString`) is ever mistaken for an op.
 */
function lookupTable<R>(entries: readonly (readonly [string, R])[]): Readonly<Record<string, R | undefined>> {
  const t: Record<string, R | undefined> = Object.create(null);
  for (const [k, v] of entries) t[k] = v;
  return t;
}

// ---------------------------------------------------------------------------------------------
// Elementwise unary ops: value f(x) and derivative d(x, y) with y = f(x); d null = zero gradient.
// `code` names the op's own loops in kernels.ts (U_RULE: the loops call f and d).

interface UnaryRule {
  readonly code: number;
  readonly f: UnaryFn;
  readonly d: UnaryPartial | null;
}

/** R7RS `round`: to nearest, ties to even (Math.round ties towards +∞). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const UNARY = lookupTable<UnaryRule>([
  ["neg", { code: U_NEG, f: (x) => -x, d: () => -1 }],
  ["abs", { code: U_ABS, f: Math.abs, d: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0) }],
  ["exp", { code: U_EXP, f: Math.exp, d: (_x, y) => y }],
  ["log", { code: U_LOG, f: Math.log, d: (x) => 1 / x }],
  ["sqrt", { code: U_SQRT, f: Math.sqrt, d: (_x, y) => 0.5 / y }],
  ["square", { code: U_SQUARE, f: (x) => x * x, d: (x) => 2 * x }],
  ["sin", { code: U_SIN, f: Math.sin, d: Math.cos }],
  ["cos", { code: U_COS, f: Math.cos, d: (x) => -Math.sin(x) }],
  ["tan", { code: U_RULE, f: Math.tan, d: (_x, y) => 1 + y * y }],
  ["asin", { code: U_RULE, f: Math.asin, d: (x) => 1 / Math.sqrt(1 - x * x) }],
  ["acos", { code: U_RULE, f: Math.acos, d: (x) => -1 / Math.sqrt(1 - x * x) }],
  ["atan", { code: U_RULE, f: Math.atan, d: (x) => 1 / (1 + x * x) }],
  ["tanh", { code: U_TANH, f: Math.tanh, d: (_x, y) => 1 - y * y }],
  ["sigmoid", { code: U_SIGMOID, f: sigmoid, d: sigmoidDeriv }],
  ["softplus", { code: U_SOFTPLUS, f: softplus, d: sigmoid }],
  ["relu", { code: U_RELU, f: (x) => Math.max(x, 0), d: (x) => (x > 0 ? 1 : 0) }],
  ["log1p", { code: U_RULE, f: Math.log1p, d: (x) => 1 / (1 + x) }],
  ["expm1", { code: U_RULE, f: Math.expm1, d: (_x, y) => y + 1 }],
  ["floor", { code: U_RULE, f: Math.floor, d: null }],
  ["ceil", { code: U_RULE, f: Math.ceil, d: null }],
  ["round", { code: U_RULE, f: roundHalfEven, d: null }],
  ["trunc", { code: U_RULE, f: Math.trunc, d: null }],
]);

/** The value function and derivative (null: zero gradient) of a unary op, for the trace compiler. */
export function unaryRuleOf(op: string): { readonly f: UnaryFn; readonly d: UnaryPartial | null } {
  const r = UNARY[op];
  if (r === undefined) throw new DmciError("type", `unary: unknown op ${op}`);
  return r;
}

function unaryScalarVjp(n: Node): void {
  const x = n.a as Node;
  x.g += n.g * (n.aux as UnaryRule).d!(x.v, n.v);
}

/** x's gradient += g·d; an x without a gradient buffer yet takes over g (see `backward`). */
function unaryTensorVjp(n: Node): void {
  const x = n.a as Node, r = n.aux as UnaryRule, g = n.gd!;
  if (x.gd === null) {
    unaryGradInto(r.code, r.d!, g, false, g, x.data!, n.data!);
    x.gd = g;
  } else {
    unaryGradInto(r.code, r.d!, x.gd, true, g, x.data!, n.data!);
  }
}

/** Elementwise unary op. Zero-gradient ops (floor, ceil, round, trunc) give constants. */
export function unary(op: UnaryOp, x: unknown): Node {
  const r = UNARY[op];
  if (r === undefined) throw new DmciError("type", `unary: unknown op ${String(op)}`);
  if (typeof x === "number") return scalarConst(r.f(x));
  const a = node(op, x);
  const tracked = r.d !== null && isTracked(a);
  if (a.data === null) return make(SCALAR, r.f(a.v), null, tracked, unaryScalarVjp, a, null, r);
  const out = new Float64Array(a.data.length);
  unaryForward(r.code, r.f, a.data, out);
  return make(a.shape, 0, out, tracked, unaryTensorVjp, a, null, r);
}

// ---------------------------------------------------------------------------------------------
// Elementwise binary ops: value f(a, b) and partials da, db given y = f(a, b); `code` names
// the op's own loops in kernels.ts (B_RULE: the loops call f, da and db)

interface BinaryRule {
  readonly code: number;
  readonly f: BinaryFn;
  readonly da: BinaryPartial;
  readonly db: BinaryPartial;
}

const BINARY = lookupTable<BinaryRule>([
  ["add", { code: B_ADD, f: (a, b) => a + b, da: () => 1, db: () => 1 }],
  ["sub", { code: B_SUB, f: (a, b) => a - b, da: () => 1, db: () => -1 }],
  ["mul", { code: B_MUL, f: (a, b) => a * b, da: (_a, b) => b, db: (a) => a }],
  ["div", { code: B_DIV, f: (a, b) => a / b, da: (_a, b) => 1 / b, db: (_a, b, y) => -y / b }],
  // d/da: b·a^(b−1), taken as 0 when b = 0 (a^0 is constant; avoids 0·∞ at a = 0).
  // d/db: a^b·log a where a > 0, else 0 (as tfjs): a^b is not real-differentiable in b there.
  ["pow", {
    code: B_RULE,
    f: Math.pow,
    da: (a, b) => (b === 0 ? 0 : b * Math.pow(a, b - 1)),
    db: (a, _b, y) => (a > 0 ? y * Math.log(a) : 0),
  }],
  // atan2(a, b) is the angle of the point (b, a); the gradient is 0 at the origin.
  ["atan2", {
    code: B_RULE,
    f: Math.atan2,
    da: (a, b) => {
      const r = a * a + b * b;
      return r === 0 ? 0 : b / r;
    },
    db: (a, b) => {
      const r = a * a + b * b;
      return r === 0 ? 0 : -a / r;
    },
  }],
  // The gradient goes to the selected argument, the first one on ties.
  ["min", { code: B_RULE, f: Math.min, da: (a, b) => (a <= b ? 1 : 0), db: (a, b) => (a <= b ? 0 : 1) }],
  ["max", { code: B_RULE, f: Math.max, da: (a, b) => (a >= b ? 1 : 0), db: (a, b) => (a >= b ? 0 : 1) }],
]);

/** The rule of a binary op: a switch, which the scalar hot path runs faster than a keyed lookup. */
function binaryRule(op: string): BinaryRule | undefined {
  switch (op) {
    case "add":
      return RULE_ADD;
    case "sub":
      return RULE_SUB;
    case "mul":
      return RULE_MUL;
    case "div":
      return RULE_DIV;
    default:
      return BINARY[op];
  }
}
const RULE_ADD = BINARY.add!, RULE_SUB = BINARY.sub!, RULE_MUL = BINARY.mul!, RULE_DIV = BINARY.div!;

/** The value function and partials of a binary op, for the trace compiler. */
export function binaryRuleOf(
  op: string,
): { readonly f: BinaryFn; readonly da: BinaryPartial; readonly db: BinaryPartial } {
  const r = binaryRule(op);
  if (r === undefined) throw new DmciError("type", `binary: unknown op ${op}`);
  return r;
}

const operandValue = (x: Operand): number => (typeof x === "number" ? x : x.v);

function binaryScalarVjp(n: Node): void {
  const r = n.aux as BinaryRule, a = n.a!, b = n.b!, g = n.g;
  const av = operandValue(a), bv = operandValue(b);
  if (needsGrad(a, n)) a.g += g * r.da(av, bv, n.v);
  if (needsGrad(b, n)) b.g += g * r.db(av, bv, n.v);
}

// The scalar VJPs of the arithmetic ops: the table's partials written out (g·1 is g, g·(−1) is −g).

function addScalarVjp(n: Node): void {
  const a = n.a!, b = n.b!, g = n.g;
  if (needsGrad(a, n)) a.g += g;
  if (needsGrad(b, n)) b.g += g;
}

function subScalarVjp(n: Node): void {
  const a = n.a!, b = n.b!, g = n.g;
  if (needsGrad(a, n)) a.g += g;
  if (needsGrad(b, n)) b.g -= g;
}

function mulScalarVjp(n: Node): void {
  const a = n.a!, b = n.b!, g = n.g;
  if (needsGrad(a, n)) a.g += g * operandValue(b);
  if (needsGrad(b, n)) b.g += g * operandValue(a);
}

function divScalarVjp(n: Node): void {
  const a = n.a!, b = n.b!, g = n.g, bv = operandValue(b);
  if (needsGrad(a, n)) a.g += g * (1 / bv);
  if (needsGrad(b, n)) b.g += g * (-n.v / bv);
}

/** The scalar VJP of each binary op code. */
const SCALAR_VJPS: readonly Vjp[] = [binaryScalarVjp, addScalarVjp, subScalarVjp, mulScalarVjp, divScalarVjp];

/** NumPy broadcasting of two shapes, or a type error naming the op and both shapes. */
function broadcastShapes(op: string, sa: readonly number[], sb: readonly number[]): number[] {
  const r = Math.max(sa.length, sb.length), out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const x = sa[sa.length - r + i] ?? 1, y = sb[sb.length - r + i] ?? 1;
    if (x === y || y === 1) out[i] = x;
    else if (x === 1) out[i] = y;
    else {
      throw new DmciError("type", `${op}: shapes ${fmtShape(sa)} and ${fmtShape(sb)} do not broadcast`);
    }
  }
  return out;
}

/** Output→input index map of an operand broadcast to `out`; null when no broadcasting happens. */
function broadcastMap(out: readonly number[], s: readonly number[]): Int32Array | null {
  if (sameShape(out, s)) return null;
  const off = out.length - s.length, strides = new Array<number>(out.length).fill(0);
  let st = 1;
  for (let d = s.length - 1; d >= 0; d--) {
    strides[d + off] = s[d] === 1 ? 0 : st;
    st *= s[d];
  }
  return stridedMap(out, strides, 0);
}

interface BinaryAux {
  readonly rule: BinaryRule;
  readonly ma: Int32Array | null;
  readonly mb: Int32Array | null;
}

const NO_DATA = new Float64Array(0);

/**
 * An operand of a `len`-element result is full (as many elements: broadcasting, if any, only
 * adds axes of size 1, so element i is its element i) or one value (rank 0, or one element
 * broadcast); anything else needs an index map.
 */
const isFull = (x: Node, len: number): boolean => x.data !== null && x.data.length === len;
const isOneValue = (x: Node): boolean => x.data === null || x.data.length === 1;
const oneValue = (x: Node): number => (x.data === null ? x.v : x.data[0]);

/**
 * The gradient of the first operand of a binary op whose operands are full or one value.
 * `give`: a has no gradient buffer and takes over g, whose elements this overwrites.
 */
function pushGradA(n: Node, r: BinaryRule, give: boolean): void {
  const a = n.a as Node, b = n.b as Node, g = n.gd!, y = n.data!, len = g.length;
  const eb = isFull(b, len) ? b.data : null, bv = eb === null ? oneValue(b) : 0;
  if (isFull(a, len)) {
    const ea = a.data!;
    if (give) {
      gradAInto(r.code, r.da, g, false, g, y, ea, eb, bv);
      a.gd = g;
    } else {
      gradAInto(r.code, r.da, gradBuf(a), true, g, y, ea, eb, bv);
    }
  } else if (a.data === null) {
    a.g += gradASum(r.code, r.da, 0, g, y, a.v, eb, bv);
  } else {
    const ga = gradBuf(a); // one element broadcast: its gradient adds up in element order
    ga[0] = gradASum(r.code, r.da, ga[0], g, y, a.data[0], eb, bv);
  }
}

/** As `pushGradA`, for the second operand. */
function pushGradB(n: Node, r: BinaryRule, give: boolean): void {
  const a = n.a as Node, b = n.b as Node, g = n.gd!, y = n.data!, len = g.length;
  const ea = isFull(a, len) ? a.data : null, av = ea === null ? oneValue(a) : 0;
  if (isFull(b, len)) {
    const eb = b.data!;
    if (give) {
      gradBInto(r.code, r.db, g, false, g, y, ea, av, eb);
      b.gd = g;
    } else {
      gradBInto(r.code, r.db, gradBuf(b), true, g, y, ea, av, eb);
    }
  } else if (b.data === null) {
    b.g += gradBSum(r.code, r.db, 0, g, y, ea, av, b.v);
  } else {
    const gb = gradBuf(b);
    gb[0] = gradBSum(r.code, r.db, gb[0], g, y, ea, av, b.data[0]);
  }
}

/**
 * The VJP of a binary op whose operands are full or one value (no index maps). A full operand
 * without a gradient buffer takes over n's output gradient (see `backward`); its loop
 * overwrites that buffer, so it runs last, and never when both operands are one node.
 */
function binaryFastVjp(n: Node): void {
  const r = n.aux as BinaryRule, a = n.a as Node, b = n.b as Node, len = n.gd!.length;
  const na = needsGrad(a, n), nb = needsGrad(b, n);
  const giveA = na && a !== b && a.gd === null && isFull(a, len);
  const giveB = !giveA && nb && a !== b && b.gd === null && isFull(b, len);
  if (giveA) {
    if (nb) pushGradB(n, r, false);
    pushGradA(n, r, true);
  } else {
    if (na) pushGradA(n, r, false);
    if (nb) pushGradB(n, r, giveB);
  }
}

/**
 * The VJP of a broadcasting binary op. Un-broadcasting is a scatter-add through the index
 * maps; a rank-0 operand receives the sum over all elements.
 */
function binaryTensorVjp(n: Node): void {
  const { rule, ma, mb } = n.aux as BinaryAux;
  const a = n.a as Node, b = n.b as Node, g = n.gd!, y = n.data!, len = g.length;
  const as = a.data === null, bs = b.data === null, av = a.v, bv = b.v;
  const ad = a.data ?? NO_DATA, bd = b.data ?? NO_DATA;
  if (needsGrad(a, n)) {
    const da = rule.da;
    if (as) {
      let s = 0;
      for (let i = 0; i < len; i++) s += g[i] * da(av, bs ? bv : bd[mb === null ? i : mb[i]], y[i]);
      a.g += s;
    } else {
      const ga = gradBuf(a);
      for (let i = 0; i < len; i++) {
        const j = ma === null ? i : ma[i];
        ga[j] += g[i] * da(ad[j], bs ? bv : bd[mb === null ? i : mb[i]], y[i]);
      }
    }
  }
  if (needsGrad(b, n)) {
    const db = rule.db;
    if (bs) {
      let s = 0;
      for (let i = 0; i < len; i++) s += g[i] * db(as ? av : ad[ma === null ? i : ma[i]], bv, y[i]);
      b.g += s;
    } else {
      const gb = gradBuf(b);
      for (let i = 0; i < len; i++) {
        const j = mb === null ? i : mb[i];
        gb[j] += g[i] * db(as ? av : ad[ma === null ? i : ma[i]], bd[j], y[i]);
      }
    }
  }
}

function binaryTensor(op: string, r: BinaryRule, a0: unknown, b0: unknown, max: number): Node {
  const a = node(op, a0), b = node(op, b0);
  const shape = a.data === null
    ? b.shape
    : b.data === null || sameShape(a.shape, b.shape)
    ? a.shape
    : broadcastShapes(op, a.shape, b.shape);
  checkSize(op, shape, max);
  const len = sizeOf(shape), out = new Float64Array(len);
  const tracked = isTracked(a) || isTracked(b);
  const fa = isFull(a, len), fb = isFull(b, len);
  if ((fa || isOneValue(a)) && (fb || isOneValue(b))) {
    const av = fa ? 0 : oneValue(a), bv = fb ? 0 : oneValue(b);
    binaryForward(r.code, r.f, fa ? a.data : null, av, fb ? b.data : null, bv, out);
    return make(shape, 0, out, tracked, binaryFastVjp, a, b, r);
  }
  const as = a.data === null, bs = b.data === null, av = a.v, bv = b.v;
  const ad = a.data ?? NO_DATA, bd = b.data ?? NO_DATA;
  const ma = as ? null : broadcastMap(shape, a.shape), mb = bs ? null : broadcastMap(shape, b.shape);
  const f = r.f;
  for (let i = 0; i < len; i++) {
    out[i] = f(as ? av : ad[ma === null ? i : ma[i]], bs ? bv : bd[mb === null ? i : mb[i]]);
  }
  return make(shape, 0, out, tracked, binaryTensorVjp, a, b, tracked ? { rule: r, ma, mb } : null);
}

/**
 * Elementwise binary op with NumPy broadcasting. Two scalars (numbers or rank-0 nodes) take a
 * fast path that allocates only the result node: this is the hot path of scalar recurrences.
 */
export function binary(op: BinaryOp, a: unknown, b: unknown, max: number): Node {
  const r = binaryRule(op);
  if (r === undefined) throw new DmciError("type", `binary: unknown op ${String(op)}`);
  let av: number, bv: number;
  if (typeof a === "number") av = a;
  else if (a instanceof Node && a.data === null) av = a.v;
  else return binaryTensor(op, r, a, b, max);
  if (typeof b === "number") bv = b;
  else if (b instanceof Node && b.data === null) bv = b.v;
  else return binaryTensor(op, r, a, b, max);
  const tracked = isTracked(a) || isTracked(b);
  return make(SCALAR, r.f(av, bv), null, tracked, SCALAR_VJPS[r.code], a as Operand, b as Operand, r);
}

// ---------------------------------------------------------------------------------------------
// Reductions

interface AxisAux {
  readonly outer: number;
  readonly len: number;
  readonly inner: number;
  readonly scale: number;
}

function reduceAllVjp(n: Node): void {
  const x = n.a as Node, g = n.g * (n.aux as number);
  if (x.data === null) {
    x.g += g;
    return;
  }
  if (x.gd === null) x.gd = new Float64Array(x.data.length).fill(0 + g); // as adding into zeros
  else {
    const buf = x.gd;
    for (let i = 0; i < buf.length; i++) buf[i] += g;
  }
}

function reduceAxisVjp(n: Node): void {
  const { outer, len, inner, scale } = n.aux as AxisAux, g = outGrad(n), buf = gradBuf(n.a as Node);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < len; j++) {
      const base = (o * len + j) * inner;
      for (let t = 0; t < inner; t++) buf[base + t] += g[o * inner + t] * scale;
    }
  }
}

/** `sum` or `mean` of all elements (axis undefined) or along one axis, which is removed. */
export function reduce(op: "sum" | "mean", x: unknown, axis?: number): Node {
  const a = node(op, x), mean = op === "mean";
  if (axis === undefined) {
    if (a.data === null) return make(SCALAR, a.v, null, isTracked(a), reduceAllVjp, a, null, 1);
    const d = a.data;
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i];
    const v = mean ? s / d.length : s;
    return make(SCALAR, v, null, isTracked(a), reduceAllVjp, a, null, mean ? 1 / d.length : 1);
  }
  const sh = a.shape, ax = axisArg(op, axis, sh.length, sh);
  const outer = sizeOf(sh.slice(0, ax)), len = sh[ax], inner = sizeOf(sh.slice(ax + 1));
  const d = a.data!, out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < len; j++) {
      const base = (o * len + j) * inner;
      for (let t = 0; t < inner; t++) out[o * inner + t] += d[base + t];
    }
  }
  if (mean) { for (let i = 0; i < out.length; i++) out[i] /= len; }
  const shape = sh.filter((_, i) => i !== ax);
  const aux: AxisAux = { outer, len, inner, scale: mean ? 1 / len : 1 };
  if (shape.length === 0) return make(SCALAR, out[0], null, isTracked(a), reduceAxisVjp, a, null, aux);
  return make(shape, 0, out, isTracked(a), reduceAxisVjp, a, null, aux);
}

// ---------------------------------------------------------------------------------------------
// Structural ops: reshape, gathers (slice, transpose, diag), ref, stack, concat

function copyVjp(n: Node): void {
  addGrad(n.a as Node, outGrad(n));
}

/** Same elements, new shape; the element buffer is shared (values are immutable). */
export function reshape(x: unknown, shape: readonly number[]): Node {
  const a = node("reshape", x), to = shapeArg("reshape", shape);
  const from = sizeOf(a.shape), size = sizeOf(to);
  if (from !== size) {
    throw new DmciError(
      "type",
      `reshape: cannot reshape shape ${fmtShape(a.shape)} (${from} elements) to ${
        fmtShape(to)
      } (${size} elements)`,
    );
  }
  if (to.length === 0) {
    return make(SCALAR, a.data === null ? a.v : a.data[0], null, isTracked(a), copyVjp, a, null, null);
  }
  const data = a.data ?? Float64Array.of(a.v);
  return make(to, 0, data, isTracked(a), copyVjp, a, null, null);
}

/** out[i] = x[map[i]], or 0 where map[i] < 0; the gradient scatters back through the same map. */
function gatherVjp(n: Node): void {
  const x = n.a as Node, map = n.aux as Int32Array, g = outGrad(n);
  if (x.data === null) {
    let s = 0;
    for (let i = 0; i < map.length; i++) if (map[i] >= 0) s += g[i];
    x.g += s;
    return;
  }
  const buf = gradBuf(x);
  for (let i = 0; i < map.length; i++) if (map[i] >= 0) buf[map[i]] += g[i];
}

function gather(x: Node, shape: readonly number[], map: Int32Array): Node {
  const src = x.data ?? Float64Array.of(x.v), out = new Float64Array(map.length);
  for (let i = 0; i < map.length; i++) out[i] = map[i] < 0 ? 0 : src[map[i]];
  if (shape.length === 0) return make(SCALAR, out[0], null, isTracked(x), gatherVjp, x, null, map);
  return make(shape, 0, out, isTracked(x), gatherVjp, x, null, map);
}

/** The sub-tensor at `begin` with extent `size` per axis (-1: to the end of that axis). */
export function slice(x: unknown, begin: readonly number[], size: readonly number[]): Node {
  const a = node("slice", x), sh = a.shape, r = sh.length;
  const where = `begin ${fmtShape(begin)} and size ${fmtShape(size)}`;
  if (begin.length !== r || size.length !== r) {
    throw new DmciError("type", `slice: ${where} need one entry per axis of shape ${fmtShape(sh)}`);
  }
  const shape = new Array<number>(r), st = stridesOf(sh);
  let offset = 0;
  for (let d = 0; d < r; d++) {
    const b = begin[d], s = size[d] === -1 ? sh[d] - b : size[d];
    if (!Number.isInteger(b) || !Number.isInteger(s) || b < 0 || s < 0 || b + s > sh[d]) {
      throw new DmciError("type", `slice: ${where} are out of bounds for shape ${fmtShape(sh)}`);
    }
    shape[d] = s;
    offset += b * st[d];
  }
  return gather(a, shape, stridedMap(shape, st, offset));
}

/** Transpose of a rank-2 tensor; rank ≤ 1 is returned unchanged. */
export function transpose(x: unknown): Node {
  const a = node("transpose", x), sh = a.shape;
  if (sh.length <= 1) return a;
  if (sh.length !== 2) {
    throw new DmciError("type", `transpose: expected rank ≤ 2, got shape ${fmtShape(sh)}`);
  }
  return gather(a, [sh[1], sh[0]], stridedMap([sh[1], sh[0]], [1, sh[1]], 0));
}

/** Vector → diagonal matrix, or square matrix → its diagonal. */
export function diag(x: unknown, max: number): Node {
  const a = node("diag", x), sh = a.shape;
  if (sh.length === 1) {
    const n = sh[0];
    checkSize("diag", [n, n], max);
    const map = new Int32Array(n * n).fill(-1);
    for (let i = 0; i < n; i++) map[i * n + i] = i;
    return gather(a, [n, n], map);
  }
  if (sh.length === 2 && sh[0] === sh[1]) {
    const n = sh[0], map = new Int32Array(n);
    for (let i = 0; i < n; i++) map[i] = i * n + i;
    return gather(a, [n], map);
  }
  throw new DmciError("type", `diag: expected a vector or a square matrix, got shape ${fmtShape(sh)}`);
}

function refVjp(n: Node): void {
  gradBuf(n.a as Node)[n.aux as number] += n.g;
}

/** One element as a rank-0 node; its gradient lands in the one element of x's gradient. */
export function ref(x: unknown, index: readonly number[]): Node {
  const a = node("ref", x), sh = a.shape;
  if (index.length !== sh.length) {
    throw new DmciError("type", `ref: index ${fmtShape(index)} does not match shape ${fmtShape(sh)}`);
  }
  if (a.data === null) return a;
  let off = 0;
  for (let d = 0; d < sh.length; d++) {
    const i = index[d];
    if (!Number.isInteger(i) || i < 0 || i >= sh[d]) {
      throw new DmciError("type", `ref: index ${fmtShape(index)} is out of range for shape ${fmtShape(sh)}`);
    }
    off = off * sh[d] + i;
  }
  return make(SCALAR, a.data[off], null, isTracked(a), refVjp, a, null, off);
}

interface JoinAux {
  readonly items: readonly Node[];
  readonly blocks: readonly number[];
  readonly outer: number;
}

/** Splits the output gradient back into the blocks each item contributed. */
function joinVjp(n: Node): void {
  const { items, blocks, outer } = n.aux as JoinAux, g = n.gd!;
  let pos = 0;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < items.length; j++) {
      const x = items[j], blk = blocks[j];
      if (needsGrad(x, n)) {
        if (x.data === null) x.g += g[pos];
        else {
          const buf = gradBuf(x), base = o * blk;
          for (let t = 0; t < blk; t++) buf[base + t] += g[pos + t];
        }
      }
      pos += blk;
    }
  }
}

/** Output = for each of `outer` rows, item 0's block j, item 1's block, …: stack and concat alike. */
function join(
  items: readonly Node[],
  shape: readonly number[],
  blocks: readonly number[],
  outer: number,
): Node {
  const out = new Float64Array(sizeOf(shape));
  let pos = 0;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < items.length; j++) {
      const x = items[j], blk = blocks[j];
      if (x.data === null) out[pos] = x.v;
      else {
        const d = x.data, base = o * blk;
        for (let t = 0; t < blk; t++) out[pos + t] = d[base + t];
      }
      pos += blk;
    }
  }
  const tracked = items.some(isTracked);
  return make(shape, 0, out, tracked, joinVjp, null, null, { items, blocks, outer });
}

/** Stacks numbers, rank-0 nodes or tensors of one shape along a new axis. */
export function stack(xs: readonly unknown[], axis: number, max: number): Node {
  if (xs.length === 0) throw new DmciError("type", "stack: expected at least one item, got none");
  const items = xs.map((x) => node("stack", x)), sh = items[0].shape;
  items.forEach((x, i) => {
    if (!sameShape(x.shape, sh)) {
      throw new DmciError(
        "type",
        `stack: item ${i} has shape ${fmtShape(x.shape)}, expected ${fmtShape(sh)} like item 0`,
      );
    }
  });
  const ax = axisArg("stack", axis, sh.length + 1, [...sh, 1]);
  const shape = [...sh.slice(0, ax), items.length, ...sh.slice(ax)];
  checkSize("stack", shape, max);
  const blk = sizeOf(sh.slice(ax));
  return join(items, shape, items.map(() => blk), sizeOf(sh.slice(0, ax)));
}

/** Concatenates tensors of rank ≥ 1 along an existing axis; other axes must agree. */
export function concat(xs: readonly unknown[], axis: number, max: number): Node {
  if (xs.length === 0) throw new DmciError("type", "concat: expected at least one tensor, got none");
  const items = xs.map((x) => node("concat", x)), sh = items[0].shape;
  if (sh.length === 0) {
    throw new DmciError("type", "concat: item 0 is rank 0 (use stack for scalars)");
  }
  const ax = axisArg("concat", axis, sh.length, sh);
  let total = 0;
  items.forEach((x, i) => {
    const s = x.shape;
    if (s.length !== sh.length || s.some((d, k) => k !== ax && d !== sh[k])) {
      throw new DmciError(
        "type",
        `concat: item ${i} has shape ${fmtShape(s)}, which does not match ${
          fmtShape(sh)
        } except on axis ${ax}`,
      );
    }
    total += s[ax];
  });
  const shape = sh.slice();
  shape[ax] = total;
  checkSize("concat", shape, max);
  const inner = sizeOf(sh.slice(ax + 1));
  return join(items, shape, items.map((x) => x.shape[ax] * inner), sizeOf(sh.slice(0, ax)));
}

// ---------------------------------------------------------------------------------------------
// Products: matmul, dot and outer share one kernel, viewing vectors as [1,k] / [k,1] matrices

interface MatmulAux {
  readonly m: number;
  readonly k: number;
  readonly n: number;
}

/** Ā += Ḡ Bᵀ and B̄ += Aᵀ Ḡ for C = A B with A m×k, B k×n. */
function matmulVjp(nd: Node): void {
  const { m, k, n } = nd.aux as MatmulAux, g = outGrad(nd), a = nd.a as Node, b = nd.b as Node;
  const A = a.data!, B = b.data!;
  if (needsGrad(a, nd)) {
    const ga = gradBuf(a);
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < k; p++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += g[i * n + j] * B[p * n + j];
        ga[i * k + p] += s;
      }
    }
  }
  if (needsGrad(b, nd)) {
    const gb = gradBuf(b);
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < k; p++) {
        const aip = A[i * k + p];
        for (let j = 0; j < n; j++) gb[p * n + j] += aip * g[i * n + j];
      }
    }
  }
}

function mm(
  op: string,
  a: Node,
  b: Node,
  m: number,
  k: number,
  n: number,
  shape: number[],
  max: number,
): Node {
  checkSize(op, shape, max);
  const A = a.data!, B = b.data!, C = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = A[i * k + p];
      for (let j = 0; j < n; j++) C[i * n + j] += aip * B[p * n + j];
    }
  }
  const tracked = isTracked(a) || isTracked(b);
  const aux: MatmulAux = { m, k, n };
  if (shape.length === 0) return make(SCALAR, C[0], null, tracked, matmulVjp, a, b, aux);
  return make(shape, 0, C, tracked, matmulVjp, a, b, aux);
}

/** Matrix product; a rank-1 left operand is a row vector, a rank-1 right operand a column (NumPy). */
export function matmul(x: unknown, y: unknown, max: number): Node {
  const a = node("matmul", x), b = node("matmul", y), sa = a.shape, sb = b.shape;
  if (sa.length < 1 || sa.length > 2 || sb.length < 1 || sb.length > 2) {
    throw new DmciError(
      "type",
      `matmul: expected operands of rank 1 or 2, got ${fmtShape(sa)} × ${fmtShape(sb)}`,
    );
  }
  const m = sa.length === 2 ? sa[0] : 1, k = sa[sa.length - 1], n = sb.length === 2 ? sb[1] : 1;
  if (sb[0] !== k) {
    throw new DmciError("type", `matmul: inner dimensions differ: ${fmtShape(sa)} × ${fmtShape(sb)}`);
  }
  const shape = [...(sa.length === 2 ? [m] : []), ...(sb.length === 2 ? [n] : [])];
  return mm("matmul", a, b, m, k, n, shape, max);
}

/** Inner product of two vectors of equal length (a rank-0 node). */
export function dot(x: unknown, y: unknown): Node {
  const a = node("dot", x), b = node("dot", y);
  if (a.shape.length !== 1 || b.shape.length !== 1 || a.shape[0] !== b.shape[0]) {
    throw new DmciError(
      "type",
      `dot: expected two vectors of equal length, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
    );
  }
  return mm("dot", a, b, 1, a.shape[0], 1, [], Infinity);
}

/** Outer product of two vectors: [m]×[n] → [m,n]. */
export function outer(x: unknown, y: unknown, max: number): Node {
  const a = node("outer", x), b = node("outer", y);
  if (a.shape.length !== 1 || b.shape.length !== 1) {
    throw new DmciError(
      "type",
      `outer: expected two vectors, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
    );
  }
  return mm("outer", a, b, a.shape[0], 1, b.shape[0], [a.shape[0], b.shape[0]], max);
}

// ---------------------------------------------------------------------------------------------
// Constants and conversion

/** A constant from a number or rectangular nested arrays of numbers. */
export function fromNested(data: Nested, max: number): Node {
  if (typeof data === "number") return scalarConst(data);
  const shape: number[] = [];
  let cur: unknown = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  checkSize("tensor", shape, max);
  const out = new Float64Array(sizeOf(shape));
  if (shape.length === 1) return tensorConst(shape, vectorElements(data as unknown[], out));
  let pos = 0;
  const walk = (x: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (typeof x !== "number") {
        throw new DmciError("type", `tensor: expected a number at depth ${depth}, got ${describe(x)}`);
      }
      out[pos++] = x;
    } else if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw new DmciError(
        "type",
        `tensor: nested arrays are not rectangular: expected ${shape[depth]} items at depth ${depth}, got ${
          Array.isArray(x) ? `${x.length} items` : describe(x)
        }`,
      );
    } else {
      for (const y of x) walk(y, depth + 1);
    }
  };
  walk(data, 0);
  return tensorConst(shape, out);
}

/** The elements of a vector (as `fromNested` walks them, without recursion) into `out`. */
function vectorElements(data: readonly unknown[], out: Float64Array): Float64Array {
  for (let i = 0; i < out.length; i++) {
    const x = data[i];
    if (typeof x !== "number") {
      throw new DmciError("type", `tensor: expected a number at depth 1, got ${describe(x)}`);
    }
    out[i] = x;
  }
  return out;
}

/** The elements of a node as a number (rank 0) or nested arrays. */
export function toNested(x: Node): Nested {
  if (x.data === null) return x.v;
  const d = x.data, sh = x.shape;
  let pos = 0;
  const build = (depth: number): Nested => {
    if (depth === sh.length) return d[pos++];
    const out: Nested[] = new Array(sh[depth]);
    for (let i = 0; i < sh[depth]; i++) out[i] = build(depth + 1);
    return out;
  };
  return build(0);
}

/** Constant n×n identity. */
export function eye(n: number, max: number): Node {
  if (!Number.isInteger(n) || n < 0) {
    throw new DmciError("type", `eye: expected a non-negative integer size, got ${n}`);
  }
  checkSize("eye", [n, n], max);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return tensorConst([n, n], out);
}

/** Constant tensor of one value. */
export function fill(shape: readonly number[], value: number, max: number): Node {
  const sh = shapeArg("fill", shape);
  checkSize("fill", sh, max);
  return tensorConst(sh, new Float64Array(sizeOf(sh)).fill(value));
}
