/**
 * The scalar replay engines: a trace whose every op is scalar `unary` / `binary` arithmetic is
 * lowered to typed arrays (op code, result slot, operand slots or constants) over one
 * Float64Array arena of values and one of gradients, and run as one forward and one reverse
 * sweep — either as generated JavaScript (`js`: repeated runs rerolled into loops, reroll.ts, the
 * rest straight-line code chunked so that V8 optimises every function) or as an opcode loop over
 * the same arrays (`ops`, for traces whose code would be too long to generate).
 * Both use the formulas, the operation order and the zero-gradient skips of the f64 tape (ops.ts),
 * so their values and gradients are bit-identical to the untraced run's.
 */
import type { ParamValue, StagedResult } from "../../backend.ts";
import { binaryRuleOf, unaryRuleOf } from "../ops.ts";
import { Node } from "../tape.ts";
import { type Recorded, SlotRef, type TraceArg } from "./record.ts";
import type { CompiledTrace } from "./replay_nodes.ts";
import { type LoopOperand, type LoopRegion, type Region, rerolled } from "./reroll.ts";
import { getOrMake } from "../../../bounded_cache.ts";

/**
 * Longest trace (entries) compiled to generated JavaScript; longer ones run as the opcode loop.
 * Measured (ns per op of one value+gradient, 2-core machine under load, after warm-up): 60 ops
 * js 9 / ops 16; 600 ops js 14 / ops 16; 6 000 ops js 9 / ops 17; 60 000 ops js 38 / ops 27.
 * But generated code runs unoptimised until V8 has seen each of its functions hot, which takes
 * hundreds of calls, while the opcode loop is optimised within its first call; a fit makes tens
 * to hundreds of calls: the 50-evaluation Niño fit (10 801 ops) took 0.29–0.98 s of optimizer
 * time with js and 0.06–0.34 s with ops. So only traces of a few chunks are generated. The limit
 * counts generated entries: a rerolled loop counts its body once (the Niño filter's 11 403 entries
 * are 600 data loads, a loop of 18 and about 20 straight entries; bench/README.md).
 */
export const JS_LIMIT = 2_000;
/**
 * Entries per generated forward / reverse function. V8 optimises only functions below a
 * bytecode size; with 2 000 / 1 000 the 6 000-op recurrence ran at 400 ns per op, with
 * 300 / 150 at 9 (100 / 100: 24, 600 / 300: 15).
 */
const FORWARD_CHUNK = 300, REVERSE_CHUNK = 150;

// Op codes. Unary ops with a formula written out; the rest call their rule (OP_URULE / OP_BRULE).
const OP_GUARD = 0, OP_TEST = 30;
/** A guard on a data input, checked when the data are loaded (it depends on no parameter). */
const OP_NOP = 31;
/** Tests written inline: the comparison operators on two values. */
const INLINE_TESTS: Readonly<Record<string, string>> = {
  "<": "<",
  "<=": "<=",
  ">": ">",
  ">=": ">=",
  "=": "===",
};
const UNARY_CODES: Readonly<Record<string, number>> = {
  neg: 1,
  abs: 2,
  exp: 3,
  log: 4,
  sqrt: 5,
  square: 6,
  sin: 7,
  cos: 8,
  tanh: 9,
};
const OP_URULE = 10;
const BINARY_CODES: Readonly<Record<string, number>> = { add: 20, sub: 21, mul: 22, div: 23 };
const OP_BRULE = 24;

type F1 = (x: number) => number;
type F2 = (a: number, b: number) => number;
type P1 = (x: number, y: number) => number;
type P2 = (a: number, b: number, y: number) => number;
type T2 = (a: number, b: number) => boolean;

/** A trace lowered to arrays. Operand encoding: a slot ≥ 0, or −(k+1) for the constant K[k]. */
export interface LoweredTrace {
  readonly params: number;
  /** Number of data inputs (slots params…params+inputs−1); rank-0 ones are loaded as values. */
  readonly inputs: number;
  /** Rank-0 data inputs (input index), loaded into their slots. */
  readonly scalarInputs: readonly number[];
  /** Elements of data inputs read by `ref` (out slot, input index, row-major offset), hoisted to the load. */
  readonly dataLoads: Int32Array;
  /** Guards on data inputs, hoisted to the load: input index and the elements it must hold. */
  readonly dataGuards: readonly { readonly input: number; readonly observed: Float64Array }[];
  readonly slots: number;
  /** Number of entries (ops and guards). */
  readonly ops: number;
  readonly code: Int32Array;
  readonly out: Int32Array;
  readonly a: Int32Array;
  readonly b: Int32Array;
  /** Rule index of OP_URULE / OP_BRULE entries; K index of a guard's observed value. */
  readonly x: Int32Array;
  readonly K: Float64Array;
  /** Rule functions, by rule index: value, and derivative(s) (null: zero gradient). */
  readonly f1: F1[];
  readonly d1: (P1 | null)[];
  readonly f2: F2[];
  readonly da: P2[];
  readonly db: P2[];
  /** Test functions and names, by test index (OP_TEST: x = test index, out = outcome 0/1). */
  readonly tf: T2[];
  readonly tn: string[];
  /** The result: a slot, or a constant (encoded as operands are). */
  readonly result: number;
}

/** Lowers `t` to arrays, or null when it is not scalar arithmetic only. */
export function lowerScalar(t: Recorded): LoweredTrace | null {
  if (t.aux !== null) return null;
  for (let i = 0; i < t.params; i++) if (t.shapes[i].length !== 0) return null;
  const isInput = (s: number) => s >= t.params && s < t.params + t.inputs;
  const dataGuards: { input: number; observed: Float64Array }[] = [];
  const scalarInputs: number[] = [], dataLoads: number[] = [];
  for (let j = 0; j < t.inputs; j++) if (t.shapes[t.params + j].length === 0) scalarInputs.push(j);
  const n = t.log.length;
  const code = new Int32Array(n), out = new Int32Array(n), a = new Int32Array(n), b = new Int32Array(n);
  const x = new Int32Array(n), K: number[] = [];
  const f1: F1[] = [], d1: (P1 | null)[] = [], f2: F2[] = [], da: P2[] = [], db: P2[] = [];
  const tf: T2[] = [], tn: string[] = [];
  const constant = (v: number) => -(K.push(v)); // −(k+1)
  const operand = (arg: TraceArg): number | null => {
    if (typeof arg === "number") return constant(arg);
    if (arg instanceof SlotRef) return t.shapes[arg.slot].length === 0 ? arg.slot : null;
    if (arg instanceof Node && arg.data === null) return constant(arg.v);
    return null;
  };
  for (let i = 0; i < n; i++) {
    const e = t.log.entry(i);
    if (e.kind === "guard") {
      if (isInput(e.slot)) {
        dataGuards.push({ input: e.slot - t.params, observed: e.observed });
        code[i] = OP_NOP;
        continue;
      }
      if (t.shapes[e.slot].length !== 0 || e.observed.length !== 1) return null;
      code[i] = OP_GUARD;
      a[i] = e.slot;
      b[i] = constant(e.observed[0]);
      x[i] = -b[i] - 1;
      continue;
    }
    if (e.kind === "test") {
      const p = operand(e.a), q = operand(e.b);
      if (p === null || q === null) return null;
      code[i] = OP_TEST;
      a[i] = p;
      b[i] = q;
      out[i] = e.outcome ? 1 : 0;
      x[i] = tf.push(e.f) - 1;
      tn.push(e.name);
      continue;
    }
    if (t.shapes[e.out].length !== 0) return null;
    out[i] = e.out;
    if (e.method === "ref") {
      // An element of a data input: loaded with the data (it depends on no parameter).
      const [x, index] = e.args;
      if (!(x instanceof SlotRef) || !isInput(x.slot) || !Array.isArray(index)) return null;
      const sh = t.shapes[x.slot];
      let off = 0;
      for (let d = 0; d < sh.length; d++) off = off * sh[d] + (index[d] as number);
      dataLoads.push(e.out, x.slot - t.params, off);
      code[i] = OP_NOP;
      continue;
    }
    if (e.method === "unary") {
      const p = operand(e.args[0]);
      if (p === null) return null;
      a[i] = p;
      const c = UNARY_CODES[e.op];
      if (c !== undefined) code[i] = c;
      else {
        const r = unaryRuleOf(e.op);
        code[i] = OP_URULE;
        x[i] = f1.push(r.f) - 1;
        d1.push(r.d);
      }
    } else if (e.method === "binary") {
      const p = operand(e.args[0]), q = operand(e.args[1]);
      if (p === null || q === null) return null;
      a[i] = p;
      b[i] = q;
      const c = BINARY_CODES[e.op];
      if (c !== undefined) code[i] = c;
      else {
        const r = binaryRuleOf(e.op);
        code[i] = OP_BRULE;
        x[i] = f2.push(r.f) - 1;
        da.push(r.da);
        db.push(r.db);
      }
    } else return null;
  }
  const result = operand(t.result);
  if (result === null) return null;
  return {
    params: t.params,
    inputs: t.inputs,
    scalarInputs,
    dataLoads: Int32Array.from(dataLoads),
    dataGuards,
    slots: t.slots,
    ops: n,
    code,
    out,
    a,
    b,
    x,
    K: Float64Array.from(K),
    f1,
    d1,
    f2,
    da,
    db,
    tf,
    tn,
    result,
  };
}

/** Entries with an operand b (binary ops, tests, guards: a guard's b is its observed value). */
const usesB = (c: number): boolean => c >= 20 || c === OP_GUARD;
/** Entries with a result slot. */
const hasOut = (c: number): boolean => c !== OP_GUARD && c !== OP_TEST && c !== OP_NOP;

/**
 * The loop structure of a lowered trace (reroll.ts): each entry's signature is its op code, its
 * rule or test function and outcome, and which operands are slots.
 */
export function regionsOf(L: LoweredTrace): Region[] {
  const ids = new Map<unknown, number>();
  const id = (f: unknown) => {
    let k = ids.get(f);
    if (k === undefined) ids.set(f, k = ids.size);
    return k;
  };
  const sig = new Int32Array(L.ops);
  for (let i = 0; i < L.ops; i++) {
    const c = L.code[i];
    let extra = 0;
    if (c === OP_URULE) extra = id(L.f1[L.x[i]]);
    else if (c === OP_BRULE) extra = id(L.f2[L.x[i]]);
    else if (c === OP_TEST) extra = 2 * id(L.tf[L.x[i]]) + L.out[i];
    sig[i] = c | (L.a[i] >= 0 ? 64 : 0) | (usesB(c) && L.b[i] >= 0 ? 128 : 0) | (extra << 8);
  }
  return rerolled({ ops: L.ops, code: L.code, out: L.out, a: L.a, b: L.b, K: L.K, sig, usesB, hasOut });
}

// ---------------------------------------------------------------------------------------------
// Generated JavaScript

/** A number as JS source that evaluates to exactly it, or null (NaN, ±∞, −0 go through K). */
function literal(v: number): string | null {
  if (!Number.isFinite(v) || Object.is(v, -0)) return null;
  const s = String(v);
  return v < 0 ? `(${s})` : s;
}

function operandSource(L: LoweredTrace, p: number): string {
  if (p >= 0) return `v[${p}]`;
  return literal(L.K[-p - 1]) ?? `K[${-p - 1}]`;
}

/** The condition under which guard value `c` fails for `s` (Object.is semantics). */
function guardFails(s: string, c: number): string {
  if (Number.isNaN(c)) return `${s} === ${s}`;
  if (c === 0) return Object.is(c, -0) ? `(${s} !== 0 || 1 / ${s} > 0)` : `(${s} !== 0 || 1 / ${s} < 0)`;
  if (!Number.isFinite(c)) return `${s} !== ${c > 0 ? "Infinity" : "-Infinity"}`;
  return `${s} !== ${literal(c)}`;
}

/**
 * How the code of one entry reads its operands: value sources of a and b, where the gradients
 * of slot operands go (null for a constant or a slot no parameter reaches), the index of the
 * result slot and where its gradient is, and the guard's failure condition.
 */
interface Access {
  readonly va: string;
  readonly vb: string;
  readonly ia: string | null;
  readonly ib: string | null;
  readonly io: string;
  readonly gout: string;
  /** Where the forward puts the result: its slot, or a local declaration. */
  readonly vout: string;
  /** False when the result depends on no parameter (in no iteration): no reverse step. */
  readonly needed: boolean;
  readonly guardFails: string;
}

/**
 * Which slots depend on a parameter (1) and which only on data and constants (0): the reverse
 * sweep sends no gradient into the latter — the tape does not either (they are constants
 * there), and nothing they could receive would ever reach a parameter.
 */
function dependence(L: LoweredTrace): Uint8Array {
  const dep = new Uint8Array(L.slots);
  dep.fill(1, 0, L.params);
  for (let i = 0; i < L.ops; i++) {
    const c = L.code[i];
    if (!hasOut(c)) continue;
    const pa = L.a[i], pb = L.b[i];
    dep[L.out[i]] = (pa >= 0 && dep[pa] === 1) || (usesB(c) && pb >= 0 && dep[pb] === 1) ? 1 : 0;
  }
  return dep;
}

/** The access of entry i in straight-line code: fixed slots and constants. */
function straightAccess(L: LoweredTrace, i: number, dep: Uint8Array): Access {
  const pa = L.a[i], pb = L.b[i];
  return {
    va: operandSource(L, pa),
    vb: operandSource(L, pb),
    ia: pa >= 0 && dep[pa] === 1 ? `g[${pa}]` : null,
    ib: pb >= 0 && dep[pb] === 1 ? `g[${pb}]` : null,
    io: String(L.out[i]),
    vout: `v[${L.out[i]}]`,
    gout: `g[${L.out[i]}]`,
    needed: !hasOut(L.code[i]) || dep[L.out[i]] === 1,
    guardFails: L.code[i] === OP_GUARD ? guardFails(`v[${pa}]`, L.K[L.x[i]]) : "",
  };
}

/**
 * The body positions of a loop whose results' gradients stay inside one iteration (every
 * reader of the result is a later entry of the same iteration, and it is not the trace's
 * result): in the reverse sweep they are locals of the iteration, not arena slots.
 */
interface LocalGradients {
  isLocal(j: number): boolean;
  /** The local body position producing slot `s` (read in iteration 0), or −1. */
  producer(s: number): number;
  /**
   * Slots read at the same place in every iteration (parameters, values made before the loop)
   * that the loop never writes, nor sends gradient to through another expression: their value
   * is a local read once before the loop, their gradient a local accumulator written back
   * after it (the same additions in the same order).
   */
  readonly invariant: ReadonlySet<number>;
  /**
   * Body positions whose value is also local to the iteration: read only by later entries of the
   * same iteration and by no reverse step, so the forward keeps it in a local, not the arena.
   */
  valueLocal(j: number): boolean;
}

/** Which operand values (a, b) and result (y) the reverse step of an op with this code reads. */
function reverseReads(c: number): { a: boolean; b: boolean; y: boolean } {
  switch (c) {
    case 2:
    case 4:
    case 6:
    case 7:
    case 8:
      return { a: true, b: false, y: false };
    case 3:
    case 5:
    case 9:
      return { a: false, b: false, y: true };
    case OP_URULE:
      return { a: true, b: false, y: true };
    case 22:
      return { a: true, b: true, y: false };
    case 23:
      return { a: false, b: true, y: true };
    case OP_BRULE:
      return { a: true, b: true, y: true };
    default:
      return { a: false, b: false, y: false };
  }
}

/** Which result gradients of each loop can be locals (see LocalGradients). */
function localGradients(
  L: LoweredTrace,
  regions: readonly Region[],
  dep: Uint8Array,
): Map<LoopRegion, LocalGradients> {
  // The iteration that produced each slot: region index·2^20-free encoding as two arrays.
  const region = new Int32Array(L.slots).fill(-1), iter = new Int32Array(L.slots);
  const escapes = new Uint8Array(L.slots);
  const regionOf = new Int32Array(L.ops), iterOf = new Int32Array(L.ops);
  regions.forEach((r, q) => {
    if (r.kind === "straight") {
      regionOf.fill(-1, r.start, r.end);
      return;
    }
    for (let k = 0; k < r.reps; k++) {
      const s = r.start + k * r.period;
      regionOf.fill(q, s, s + r.period);
      iterOf.fill(k, s, s + r.period);
    }
  });
  for (let i = 0; i < L.ops; i++) {
    const c = L.code[i];
    const read = (p: number) => {
      if (p < 0) return;
      if (regionOf[i] < 0 || region[p] !== regionOf[i] || iter[p] !== iterOf[i]) escapes[p] = 1;
    };
    if (c !== OP_NOP) {
      read(L.a[i]);
      if (usesB(c)) read(L.b[i]);
    }
    if (hasOut(c)) {
      region[L.out[i]] = regionOf[i];
      iter[L.out[i]] = iterOf[i];
    }
  }
  if (L.result >= 0) escapes[L.result] = 1;
  const readByReverse = new Uint8Array(L.slots);
  for (let i = 0; i < L.ops; i++) {
    const c = L.code[i], r = reverseReads(c), pa = L.a[i], pb = L.b[i];
    // A product reads each factor only for the other's gradient.
    const mulA = c !== 22 || (pb >= 0 && dep[pb] === 1), mulB = c !== 22 || (pa >= 0 && dep[pa] === 1);
    if (r.a && mulA && pa >= 0) readByReverse[pa] = 1;
    if (r.b && mulB && pb >= 0) readByReverse[pb] = 1;
    if (r.y) readByReverse[L.out[i]] = 1;
  }
  const out = new Map<LoopRegion, LocalGradients>();
  for (const r of regions) {
    if (r.kind !== "loop") continue;
    const local = new Uint8Array(r.period), at = new Map<number, number>();
    for (let j = 0; j < r.period; j++) {
      const o = r.out[j];
      if (o.kind !== "slot" || !hasOut(L.code[r.start + j])) continue;
      let ok = true, read = false;
      for (let k = 0; k < r.reps && ok; k++) {
        if (escapes[o.base + o.stride * k] === 1) ok = false;
        if (readByReverse[o.base + o.stride * k] === 1) read = true;
      }
      if (ok) {
        local[j] = read ? 1 : 2;
        at.set(o.base, j);
      }
    }
    const fixed = new Set<number>(), moving: [number, number][] = [];
    for (let j = 0; j < r.period; j++) {
      const c = L.code[r.start + j];
      for (const o of [r.a[j], ...(usesB(c) ? [r.b[j]] : []), ...(hasOut(c) ? [r.out[j]] : [])]) {
        if (o.kind !== "slot") continue;
        if (o.stride === 0 && o !== r.out[j]) fixed.add(o.base);
        else moving.push([o.base, o.stride]);
      }
    }
    const invariant = new Set<number>();
    for (const s of fixed) {
      const hit = moving.some(([base, stride]) =>
        stride === 0
          ? base === s
          : (s - base) % stride === 0 && (s - base) / stride >= 0 && (s - base) / stride < r.reps
      );
      if (!hit) invariant.add(s);
    }
    out.set(r, {
      isLocal: (j) => local[j] >= 1,
      producer: (s) => at.get(s) ?? -1,
      invariant,
      valueLocal: (j) => local[j] === 2,
    });
  }
  return out;
}

/** The access of body position j of a loop (iteration index `k`, table row offset `c`). */
function loopAccess(
  L: LoweredTrace,
  loop: LoopRegion,
  j: number,
  dep?: Uint8Array,
  local?: LocalGradients,
): Access {
  const index = (o: LoopOperand): string | null =>
    o.kind !== "slot" ? null : o.stride === 0 ? String(o.base) : `${o.base} + ${o.stride} * k`;
  /** The slot in some iteration depends on a parameter. */
  const depends = (o: LoopOperand): boolean => {
    if (o.kind !== "slot" || dep === undefined) return o.kind === "slot";
    for (let k = 0; k < loop.reps; k++) if (dep[o.base + o.stride * k] === 1) return true;
    return false;
  };
  const value = (o: LoopOperand): string =>
    o.kind === "slot"
      ? (local?.invariant.has(o.base) && o.stride === 0
        ? `p${o.base}`
        : local !== undefined && local.producer(o.base) >= 0 && local.valueLocal(local.producer(o.base))
        ? `vl${local.producer(o.base)}`
        : `v[${index(o)}]`)
      : o.kind === "const"
      ? operandSource(L, o.operand)
      : o.kind === "table"
      ? `C[c + ${o.column}]`
      : "0";
  const A = loop.a[j], Bo = loop.b[j], va = value(A), vb = value(Bo);
  let fails = "";
  if (L.code[loop.start + j] === OP_GUARD) {
    fails = Bo.kind === "const"
      ? guardFails(va, L.K[-Bo.operand - 1])
      : Bo.kind === "table" && Bo.plain
      ? `${va} !== ${vb}`
      : `!Object.is(${va}, ${vb})`;
  }
  /** Where the gradient of a slot operand goes: a local of the iteration, or the arena. */
  const grad = (o: LoopOperand): string | null => {
    if (!depends(o) || o.kind !== "slot") return null;
    if (o.stride === 0 && local?.invariant.has(o.base)) return `q${o.base}`;
    const q = local?.producer(o.base) ?? -1;
    return q >= 0 ? `gl${q}` : `g[${index(o)}]`;
  };
  const io = index(loop.out[j]) ?? "0";
  return {
    va,
    vb,
    ia: grad(A),
    ib: grad(Bo),
    io,
    vout: local?.valueLocal(j) ? `const vl${j}` : `v[${io}]`,
    gout: local?.isLocal(j) ? `gl${j}` : `g[${io}]`,
    needed: !hasOut(L.code[loop.start + j]) || depends(loop.out[j]),
    guardFails: fails,
  };
}

function forwardLine(L: LoweredTrace, i: number, s: Access): string {
  const A = s.va, B = s.vb, o = s.vout;
  switch (L.code[i]) {
    case OP_NOP:
      return "";
    case OP_GUARD:
      return `if (${s.guardFails}) return false;`;
    case OP_TEST: {
      const op = INLINE_TESTS[L.tn[L.x[i]]], holds = L.out[i] === 1;
      const test = op !== undefined ? `(${A} ${op} ${B})` : `T[${L.x[i]}](${A}, ${B})`;
      return `if (${holds ? "!" : ""}${test}) return false;`;
    }
    case 1:
      return `${o} = -${A};`;
    case 2:
      return `${o} = Math.abs(${A});`;
    case 3:
      return `${o} = Math.exp(${A});`;
    case 4:
      return `${o} = Math.log(${A});`;
    case 5:
      return `${o} = Math.sqrt(${A});`;
    case 6:
      return `${o} = ${A} * ${A};`;
    case 7:
      return `${o} = Math.sin(${A});`;
    case 8:
      return `${o} = Math.cos(${A});`;
    case 9:
      return `${o} = Math.tanh(${A});`;
    case OP_URULE:
      return `${o} = F1[${L.x[i]}](${A});`;
    case 20:
      return `${o} = ${A} + ${B};`;
    case 21:
      return `${o} = ${A} - ${B};`;
    case 22:
      return `${o} = ${A} * ${B};`;
    case 23:
      return `${o} = ${A} / ${B};`;
    default:
      return `${o} = F2[${L.x[i]}](${A}, ${B});`;
  }
}

/** The reverse step of entry i: gradients into its slot operands, in the tape's order. */
function reverseLine(L: LoweredTrace, i: number, s: Access): string {
  const c = L.code[i];
  if (c === OP_GUARD || c === OP_TEST || c === OP_NOP || (c === OP_URULE && L.d1[L.x[i]] === null)) return "";
  if (!s.needed) return "";
  const A = s.va, B = s.vb, y = `v[${s.io}]`;
  const ga = (e: string) => (s.ia !== null ? `${s.ia} += t * ${e};` : "");
  const gb = (e: string) => (s.ib !== null ? `${s.ib} += t * ${e};` : "");
  let body: string;
  switch (c) {
    case 1:
      body = ga("-1");
      break;
    case 2:
      body = ga(`(${A} > 0 ? 1 : ${A} < 0 ? -1 : 0)`);
      break;
    case 3:
      body = ga(y);
      break;
    case 4:
      body = ga(`(1 / ${A})`);
      break;
    case 5:
      body = ga(`(0.5 / ${y})`);
      break;
    case 6:
      body = ga(`(2 * ${A})`);
      break;
    case 7:
      body = ga(`Math.cos(${A})`);
      break;
    case 8:
      body = ga(`(-Math.sin(${A}))`);
      break;
    case 9:
      body = ga(`(1 - ${y} * ${y})`);
      break;
    case OP_URULE:
      body = ga(`D1[${L.x[i]}](${A}, ${y})`);
      break;
    case 20:
      body = (s.ia !== null ? `${s.ia} += t;` : "") + (s.ib !== null ? `${s.ib} += t;` : "");
      break;
    case 21:
      body = (s.ia !== null ? `${s.ia} += t;` : "") + (s.ib !== null ? `${s.ib} -= t;` : "");
      break;
    case 22:
      body = ga(B) + gb(A);
      break;
    case 23:
      body = ga(`(1 / ${B})`) + gb(`(-${y} / ${B})`);
      break;
    default:
      body = ga(`DA[${L.x[i]}](${A}, ${B}, ${y})`) + gb(`DB[${L.x[i]}](${A}, ${B}, ${y})`);
  }
  return body === "" ? "" : `t = ${s.gout}; if (t !== 0) { ${body} }`;
}

type Forward = (v: Float64Array, K: Float64Array, F1: F1[], F2: F2[], T: T2[], C: Float64Array) => boolean;
type Reverse = (
  v: Float64Array,
  g: Float64Array,
  K: Float64Array,
  D1: (P1 | null)[],
  DA: P2[],
  DB: P2[],
  C: Float64Array,
) => void;

/** A generated function and the constant table it reads (empty outside loops). */
interface Piece<F> {
  readonly f: F;
  readonly C: Float64Array;
}

const NO_TABLE = new Float64Array(0);

/**
 * Generated functions by source. They read everything through their parameters (arena, constants,
 * rules, table), so one function serves every trace that generates the same source — the same
 * program on other data of the same shapes, in another staged function (a new fit of it) — and
 * arrives already optimised by V8.
 */
const GENERATED = new Map<string, unknown>();
/** Most generated functions kept (least recently made dropped). */
const MAX_GENERATED = 512;

function generated<F>(params: string[], source: string): F {
  return getOrMake(GENERATED, source, MAX_GENERATED, () => new Function(...params, source)) as F;
}

function forwardFn(body: string[]): Forward {
  return generated(["v", "K", "F1", "F2", "T", "C"], `"use strict";\n${body.join("\n")}\nreturn true;`);
}

function reverseFn(body: string[]): Reverse {
  return generated(["v", "g", "K", "D1", "DA", "DB", "C"], `"use strict";\nlet t = 0;\n${body.join("\n")}`);
}

/** The generated forward functions (in order) and reverse functions (last entries first). */
function generate(
  L: LoweredTrace,
  regions: readonly Region[],
): { forward: Piece<Forward>[]; reverse: Piece<Reverse>[] } {
  const forward: Piece<Forward>[] = [], reverse: Piece<Reverse>[] = [];
  const dep = dependence(L), locals = localGradients(L, regions, dep);
  const allNop = (start: number, end: number) => {
    for (let i = start; i < end; i++) if (L.code[i] !== OP_NOP) return false;
    return true;
  };
  for (const r of regions) {
    if (r.kind === "straight") {
      for (let s = r.start; s < r.end; s += FORWARD_CHUNK) {
        const lines: string[] = [];
        for (let i = s; i < Math.min(r.end, s + FORWARD_CHUNK); i++) {
          if (L.code[i] !== OP_NOP) lines.push(forwardLine(L, i, straightAccess(L, i, dep)));
        }
        if (lines.length) forward.push({ f: forwardFn(lines), C: NO_TABLE });
      }
      continue;
    }
    if (allNop(r.start, r.start + r.period)) continue;
    const local = locals.get(r)!;
    const access = Array.from({ length: r.period }, (_, j) => loopAccess(L, r, j, dep, local));
    const head = `for (let k = 0, c = 0; k < ${r.reps}; k++, c += ${r.columns}) {`;
    const lines = [...[...local.invariant].map((s) => `const p${s} = v[${s}];`), head];
    for (let j = 0; j < r.period; j++) lines.push(forwardLine(L, r.start + j, access[j]));
    lines.push("}");
    forward.push({ f: forwardFn(lines), C: r.table });
  }
  for (let q = regions.length - 1; q >= 0; q--) {
    const r = regions[q];
    if (r.kind === "straight") {
      for (let e = r.end; e > r.start; e -= REVERSE_CHUNK) {
        const lines: string[] = [];
        for (let i = e - 1; i >= Math.max(r.start, e - REVERSE_CHUNK); i--) {
          const line = reverseLine(L, i, straightAccess(L, i, dep));
          if (line !== "") lines.push(line);
        }
        if (lines.length) reverse.push({ f: reverseFn(lines), C: NO_TABLE });
      }
      continue;
    }
    const lines = [
      `for (let k = ${r.reps - 1}, c = ${(r.reps - 1) * r.columns}; k >= 0; k--, c -= ${r.columns}) {`,
    ];
    const local = locals.get(r)!;
    const decl: string[] = [];
    const accumulators = [...local.invariant].filter((s) => dep[s] === 1);
    lines.unshift(
      ...[...local.invariant].map((s) => `const p${s} = v[${s}];`),
      ...accumulators.map((s) => `let q${s} = g[${s}];`),
    );
    for (let j = 0; j < r.period; j++) if (local.isLocal(j)) decl.push(`gl${j} = 0`);
    if (decl.length) lines.push(`let ${decl.join(", ")};`);
    for (let j = r.period - 1; j >= 0; j--) {
      const line = reverseLine(L, r.start + j, loopAccess(L, r, j, dep, local));
      if (line !== "") lines.push(line);
    }
    lines.push("}", ...accumulators.map((s) => `g[${s}] = q${s};`));
    if (lines.some((l) => l.startsWith("t = "))) reverse.push({ f: reverseFn(lines), C: r.table });
  }
  return { forward, reverse };
}

/** Entries of generated code for `regions`: straight entries plus loop bodies. */
export function generatedSize(regions: readonly Region[]): number {
  return regions.reduce((n, r) => n + (r.kind === "straight" ? r.end - r.start : r.period), 0);
}

// ---------------------------------------------------------------------------------------------
// The opcode loop

/**
 * The opcode loop keeps the constants in the arena after the slots, so that an operand is always
 * `v[a[i]]` (no branch); gradients added to a constant's place are never read.
 */
function forwardLoop(L: LoweredTrace, a: Int32Array, b: Int32Array, v: Float64Array): boolean {
  const { code, out, x, K, f1, f2, tf } = L;
  for (let i = 0; i < L.ops; i++) {
    const A = v[a[i]];
    switch (code[i]) {
      case OP_NOP:
        continue;
      case OP_GUARD:
        if (!Object.is(A, K[x[i]])) return false;
        continue;
      case 1:
        v[out[i]] = -A;
        continue;
      case 2:
        v[out[i]] = Math.abs(A);
        continue;
      case 3:
        v[out[i]] = Math.exp(A);
        continue;
      case 4:
        v[out[i]] = Math.log(A);
        continue;
      case 5:
        v[out[i]] = Math.sqrt(A);
        continue;
      case 6:
        v[out[i]] = A * A;
        continue;
      case 7:
        v[out[i]] = Math.sin(A);
        continue;
      case 8:
        v[out[i]] = Math.cos(A);
        continue;
      case 9:
        v[out[i]] = Math.tanh(A);
        continue;
      case OP_URULE:
        v[out[i]] = f1[x[i]](A);
        continue;
    }
    const B = v[b[i]];
    switch (code[i]) {
      case OP_TEST:
        if (tf[x[i]](A, B) !== (out[i] === 1)) return false;
        break;
      case 20:
        v[out[i]] = A + B;
        break;
      case 21:
        v[out[i]] = A - B;
        break;
      case 22:
        v[out[i]] = A * B;
        break;
      case 23:
        v[out[i]] = A / B;
        break;
      default:
        v[out[i]] = f2[x[i]](A, B);
    }
  }
  return true;
}

function reverseLoop(L: LoweredTrace, a: Int32Array, b: Int32Array, v: Float64Array, g: Float64Array): void {
  const { code, out, x, d1, da, db } = L;
  for (let i = L.ops - 1; i >= 0; i--) {
    const c = code[i];
    if (c === OP_GUARD || c === OP_TEST || c === OP_NOP) continue;
    const o = out[i], t = g[o];
    if (t === 0) continue;
    const pa = a[i], A = v[pa], y = v[o];
    if (c < 20) {
      switch (c) {
        case 1:
          g[pa] += t * -1;
          break;
        case 2:
          g[pa] += t * (A > 0 ? 1 : A < 0 ? -1 : 0);
          break;
        case 3:
          g[pa] += t * y;
          break;
        case 4:
          g[pa] += t * (1 / A);
          break;
        case 5:
          g[pa] += t * (0.5 / y);
          break;
        case 6:
          g[pa] += t * (2 * A);
          break;
        case 7:
          g[pa] += t * Math.cos(A);
          break;
        case 8:
          g[pa] += t * (-Math.sin(A));
          break;
        case 9:
          g[pa] += t * (1 - y * y);
          break;
        default: {
          const d = d1[x[i]];
          if (d !== null) g[pa] += t * d(A, y);
        }
      }
      continue;
    }
    const pb = b[i], B = v[pb];
    switch (c) {
      case 20:
        g[pa] += t;
        g[pb] += t;
        break;
      case 21:
        g[pa] += t;
        g[pb] -= t;
        break;
      case 22:
        g[pa] += t * B;
        g[pb] += t * A;
        break;
      case 23:
        g[pa] += t * (1 / B);
        g[pb] += t * (-y / B);
        break;
      default:
        g[pa] += t * da[x[i]](A, B, y);
        g[pb] += t * db[x[i]](A, B, y);
    }
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * A lowered trace as a replay engine: `js` (generated code) or `ops` (the opcode loop).
 *
 * @example
 * ```ts
 * const L = lowerScalar(recorded);
 * if (L !== null) scalarEngine(L, "js").valueAndGrad([0.5, 2]);
 * ```
 */
export function scalarEngine(
  L: LoweredTrace,
  engine: "js" | "ops",
  regions: readonly Region[] = [{ kind: "straight", start: 0, end: L.ops }],
): CompiledTrace {
  const gen = engine === "js" ? generate(L, regions) : null;
  const size = gen === null ? L.slots + L.K.length : L.slots;
  const v = new Float64Array(size), g = new Float64Array(size);
  const inArena = (p: number) => (p >= 0 ? p : L.slots - p - 1);
  const ra = gen === null ? L.a.map(inArena) : L.a, rb = gen === null ? L.b.map(inArena) : L.b;
  if (gen === null) v.set(L.K, L.slots);
  /** Loads θ and the scalar data inputs; false when a data guard fails. */
  const load = (theta: readonly ParamValue[], data: readonly Node[]): boolean => {
    for (const { input, observed } of L.dataGuards) {
      const d = data[input], xs = d.data;
      if (
        xs === null ? observed.length !== 1 || !Object.is(d.v, observed[0]) : xs.length !== observed.length
      ) {
        return false;
      }
      if (xs !== null) {
        for (let k = 0; k < xs.length; k++) if (!Object.is(xs[k], observed[k])) return false;
      }
    }
    for (let i = 0; i < L.params; i++) {
      const p = theta[i];
      v[i] = typeof p === "number" ? p : p.data[0];
    }
    for (const j of L.scalarInputs) v[L.params + j] = data[j].v;
    const loads = L.dataLoads;
    for (let q = 0; q < loads.length; q += 3) v[loads[q]] = data[loads[q + 1]].data![loads[q + 2]];
    return true;
  };
  const runForward = (): boolean => {
    if (gen === null) return forwardLoop(L, ra, rb, v);
    for (const p of gen.forward) if (!p.f(v, L.K, L.f1, L.f2, L.tf, p.C)) return false;
    return true;
  };
  const resultValue = () => (L.result >= 0 ? v[L.result] : L.K[-L.result - 1]);
  return {
    engine,
    size: L.ops,
    loops: gen === null ? 0 : regions.filter((r) => r.kind === "loop").length,
    valueAndGrad(theta, data): StagedResult | null {
      if (!load(theta, data) || !runForward()) return null;
      const value = resultValue();
      g.fill(0);
      if (L.result >= 0) {
        g[L.result] = 1;
        if (gen === null) reverseLoop(L, ra, rb, v, g);
        else for (const p of gen.reverse) p.f(v, g, L.K, L.d1, L.da, L.db, p.C);
      }
      const grad = theta.map((p, i): ParamValue =>
        typeof p === "number" ? g[i] : { shape: [], data: Float64Array.of(g[i]) }
      );
      return { value, grad, aux: null };
    },
    forward(theta, data) {
      if (!load(theta, data) || !runForward()) return null;
      return { value: resultValue(), aux: null };
    },
  };
}
