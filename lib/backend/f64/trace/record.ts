/**
 * Recording a trace of one f64 run: while a recorder is active, every backend op whose result
 * depends on a parameter is appended as an entry (op name, operands as slots or constants, a
 * `redo` that recomputes it from new operands), and every place where plain code observes a
 * parameter-dependent value (`toNumber`, `toNested`) is appended as a guard holding the plain
 * result it observed.
 *
 * ## Why equal guard outcomes give the same trace (soundness)
 * Everything a program does that is not a backend op on a parameter-dependent value is plain
 * computation: list and closure manipulation, loop counters, constants, data tensors. That
 * computation is deterministic given its inputs (the program, its data, the parameter shapes)
 * and the plain values it reads from parameter-dependent values, and the only way it can read
 * one is through a guard (a comparison or predicate on a tracked number goes through `test`; `eqv?`, `number->string`, `exact`, `floor->exact`-like conversions and
 * `tensor->list` go through `toNumber` or `toNested`). So if at a new θ every guard observes the
 * same plain value as when the trace was recorded (a comparison or predicate is kept as its
 * outcome, through the backend's `test`, so that it holds wherever the branch is the same), the plain computation takes the same path,
 * makes the same backend calls on the same constants in the same order, and the trace's ops,
 * recomputed from the new parameters, are exactly the values the untraced run would compute.
 * A guard is compared with `Object.is` (NaN equals NaN, −0 differs from 0), the strictest
 * equality a program could observe.
 *
 * Dependence is followed by value, not by the tape: an op without a gradient (`floor`, `round`)
 * gives a constant to the tape but a parameter-dependent value to the trace, so it is recorded.
 * Data inputs (the columns a fit passes per call) are trace inputs like the parameters, not
 * constants: an op on them is recorded and recomputed from the call's data, and a plain read of
 * their values (`tensor->list` of a column) is a guard, so a trace is only replayed on data
 * whose observed values equal the recorded ones; everything else about data is its shape, part
 * of the trace's key. So the argument above holds with "the parameters" read as "the
 * parameters and the data".
 *
 * What the recorder cannot see makes the run untraceable (`poison`): a nested backend scope
 * (`valueAndGrad` or `run` inside the traced function, whose values would be baked in), or more
 * entries than `TRACE_LIMIT`.
 */
import { DmciError } from "../../../errors.ts";
import { Node } from "../tape.ts";

/** The most entries (ops and guards) one trace may hold; a longer run stays untraced. */
export const TRACE_LIMIT = 2_000_000;

/** An operand of a recorded op: a plain number, a constant node, a slot, or a list of them. */
export type TraceArg = number | Node | SlotRef | readonly TraceArg[];

/** A reference to the value in slot `slot` of a trace (a parameter or an earlier op's result). */
export class SlotRef {
  constructor(readonly slot: number) {}
}

/** Recomputes a recorded op from its operands (slots replaced by the new values). */
export type Redo = (args: readonly unknown[]) => unknown;

/** A parameter-dependent backend op: `out = redo(args)`. */
export interface OpEntry {
  readonly kind: "op";
  /** `unary`, `binary`, `matmul`, … (the backend method). */
  readonly method: string;
  /** The elementwise op of `unary` / `binary` (`exp`, `mul`), else "". */
  readonly op: string;
  readonly out: number;
  readonly args: readonly TraceArg[];
  readonly redo: Redo;
}

/** A place where plain code read a parameter-dependent value, and what it read. */
export interface GuardEntry {
  readonly kind: "guard";
  readonly slot: number;
  /** `toNumber` (one number) or `toNested` (all elements, row-major). */
  readonly how: "toNumber" | "toNested";
  readonly observed: Float64Array;
}

/** A plain test (comparison, predicate) of parameter-dependent scalars, and its outcome. */
export interface TestEntry {
  readonly kind: "test";
  /** The primitive's name (`<`, `zero?`): the scalar compiler writes the known ones inline. */
  readonly name: string;
  readonly f: (a: number, b: number) => boolean;
  readonly a: TraceArg;
  readonly b: TraceArg;
  readonly outcome: boolean;
}

/** One entry of a trace. */
export type TraceEntry = OpEntry | GuardEntry | TestEntry;

/**
 * The entries of a recording, kept in columns: an op costs stores into arrays, not objects, so
 * a run being recorded allocates (and its garbage collections copy) little more than an
 * untraced run. `entry(i)` makes entry i as an object, for the compilers.
 */
export class TraceLog {
  /**
   * Per entry, 4 ints: 0 for an op (else the index + 1 of the guard or test in `others`), the
   * result slot, the operand count (1 or 2, −1: all operands in `extra`), and the operands'
   * kinds (kind of operand 0 | kind of operand 1 << 2: 0 a number in `vals`, 1 a slot in
   * `vals`, 2 a constant node in `extra`).
   */
  private ints = new Int32Array(4 * 1024);
  private vals = new Float64Array(2 * 1024);
  private readonly method: string[] = [];
  private readonly opName: string[] = [];
  private readonly redo: Redo[] = [];
  /** Operands kept as objects, by entry: all of them (operand count −1), or the constant nodes. */
  private readonly extra = new Map<number, readonly TraceArg[]>();
  private readonly others: (GuardEntry | TestEntry)[] = [];
  private readonly refs: SlotRef[] = [];
  private n = 0;

  /** Number of entries. */
  get length(): number {
    return this.n;
  }

  private grow(): void {
    const ints = new Int32Array(this.ints.length * 2), vals = new Float64Array(this.vals.length * 2);
    ints.set(this.ints);
    vals.set(this.vals);
    this.ints = ints;
    this.vals = vals;
  }

  /**
   * Appends an op: with `n` 1 or 2, its operands are `a` (and `b`), each a slot (`aSlot` ≥ 0) or
   * else the value itself (a number or a constant node); with `n` −1 they are all in `args`.
   */
  pushOp(
    method: string,
    op: string,
    out: number,
    args: readonly TraceArg[] | null,
    n: number,
    aSlot: number,
    a: unknown,
    bSlot: number,
    b: unknown,
    redo: Redo,
  ): void {
    const e = this.n++;
    if (4 * this.n > this.ints.length) this.grow();
    const I = this.ints, V = this.vals, i = 4 * e;
    let k0 = 0, k1 = 0;
    if (n === -1) this.extra.set(e, args!);
    else {
      if (aSlot >= 0) (k0 = 1, V[2 * e] = aSlot);
      else if (typeof a === "number") V[2 * e] = a;
      else k0 = 2;
      if (bSlot >= 0) (k1 = 1, V[2 * e + 1] = bSlot);
      else if (typeof b === "number") V[2 * e + 1] = b;
      else k1 = 2;
      if (k0 === 2 || k1 === 2) this.extra.set(e, [a as TraceArg, b as TraceArg]);
    }
    I[i] = 0;
    I[i + 1] = out;
    I[i + 2] = n;
    I[i + 3] = k0 | (k1 << 2);
    this.method.push(method);
    this.opName.push(op);
    this.redo.push(redo);
  }

  /** Appends a guard or a test. */
  pushOther(x: GuardEntry | TestEntry): void {
    const e = this.n++;
    if (4 * this.n > this.ints.length) this.grow();
    this.ints[4 * e] = this.others.push(x);
    this.method.push("");
    this.opName.push("");
    this.redo.push(NO_REDO);
  }

  /** The reference to slot s (one object per slot, shared by every operand naming it). */
  ref(s: number): SlotRef {
    return this.refs[s] ??= new SlotRef(s);
  }

  /** Operand w (0 or 1) of op entry e, as a TraceArg. */
  private arg(e: number, w: 0 | 1): TraceArg {
    const k = (this.ints[4 * e + 3] >> (2 * w)) & 3, v = this.vals[2 * e + w];
    if (k === 1) return this.ref(v);
    if (k === 0) return v;
    return this.extra.get(e)![w];
  }

  /** Entry i as an object. */
  entry(i: number): TraceEntry {
    const k = this.ints[4 * i];
    if (k !== 0) return this.others[k - 1];
    const n = this.ints[4 * i + 2];
    const args = n === -1
      ? this.extra.get(i)!
      : n === 1
      ? [this.arg(i, 0)]
      : [this.arg(i, 0), this.arg(i, 1)];
    return {
      kind: "op",
      method: this.method[i],
      op: this.opName[i],
      out: this.ints[4 * i + 1],
      args,
      redo: this.redo[i],
    };
  }

  /** Every entry as an object, in order. */
  all(): TraceEntry[] {
    return Array.from({ length: this.length }, (_, i) => this.entry(i));
  }
}

const NO_REDO: Redo = () => 0;

/**
 * A recorded trace: parameters in slots 0…P−1, the data inputs in P…P+D−1, then one slot per
 * op, in recording order.
 */
export interface Recorded {
  readonly log: TraceLog;
  /** Number of slots (parameters and op results). */
  readonly slots: number;
  /** The shape of each slot's value. */
  readonly shapes: readonly (readonly number[])[];
  /** Number of parameters. */
  readonly params: number;
  /** Number of data inputs. */
  readonly inputs: number;
  /** The function's value: a slot, or a plain number / constant node that no parameter touches. */
  readonly result: TraceArg;
  /** An auxiliary output read after the run (per-restart losses), or null. */
  readonly aux: TraceArg | null;
}

/** Ids of recorders, stamped on the nodes they give slots (Node.tr). */
let lastRecorder = 0;

/** The state of one recording. */
export class Recorder {
  readonly log = new TraceLog();
  readonly shapes: (readonly number[])[] = [];
  private readonly id = ++lastRecorder;
  /** Why this run cannot be traced, or null. */
  poisoned: string | null = null;

  private readonly params: number;
  private readonly inputs: number;

  /**
   * A recording whose parameters are `leaves` and whose data inputs are `data` (constant
   * nodes): both are trace inputs, so ops on the data are recorded and plain reads of them are
   * guards, exactly as for the parameters.
   */
  constructor(
    leaves: readonly Node[],
    private readonly limit: number = TRACE_LIMIT,
    data: readonly Node[] = [],
  ) {
    this.params = leaves.length;
    this.inputs = data.length;
    for (const l of leaves) this.addSlot(l);
    for (const d of data) this.addSlot(d);
  }

  private addSlot(n: Node): number {
    const s = this.shapes.length;
    n.tr = this.id;
    n.ts = s;
    this.shapes.push(n.shape);
    return s;
  }

  /** The slot of a value, or -1 when it does not depend on a parameter. */
  slot(x: unknown): number {
    return x instanceof Node && x.tr === this.id ? x.ts : -1;
  }

  /** True when some operand (or element of a list operand) depends on a parameter. */
  depends(args: readonly unknown[]): boolean {
    for (const a of args) {
      if (Array.isArray(a) ? this.depends(a) : this.slot(a) >= 0) return true;
    }
    return false;
  }

  private checkOperand(a: unknown): void {
    if (typeof a !== "number" && !(a instanceof Node)) {
      throw new DmciError("type", `trace: unexpected operand ${String(a)}`);
    }
  }

  private toArg(a: unknown): TraceArg {
    if (Array.isArray(a)) return a.map((x) => this.toArg(x));
    const s = this.slot(a);
    if (s >= 0) return this.log.ref(s);
    this.checkOperand(a);
    return a as number | Node;
  }

  /** Records `result = method(args)` if it depends on a parameter (and is a new value). */
  op(method: string, op: string, result: unknown, args: readonly unknown[], redo: Redo): void {
    if (this.poisoned !== null || !(result instanceof Node) || result.tr === this.id) return;
    if (!this.depends(args)) return;
    if (this.full()) return;
    const n = args.length;
    if ((n === 1 || n === 2) && !Array.isArray(args[0]) && (n === 1 || !Array.isArray(args[1]))) {
      const a = args[0], b = n === 2 ? args[1] : 0;
      this.checkOperand(a);
      this.checkOperand(b);
      this.log.pushOp(method, op, this.addSlot(result), null, n, this.slot(a), a, this.slot(b), b, redo);
    } else {
      const mapped = args.map((a) => this.toArg(a));
      this.log.pushOp(method, op, this.addSlot(result), mapped, -1, -1, 0, -1, 0, redo);
    }
  }

  /** Records that plain code read `x` (if it depends on a parameter) and got `elements`. */
  guard(x: unknown, how: "toNumber" | "toNested", elements: Float64Array): void {
    if (this.poisoned !== null) return;
    const s = this.slot(x);
    if (s < 0) return;
    if (this.full()) return;
    this.log.pushOther({ kind: "guard", slot: s, how, observed: elements });
  }

  /** Records the outcome of a plain test of `a` and `b`, if either depends on a parameter. */
  test(name: string, f: (a: number, b: number) => boolean, a: unknown, b: unknown, outcome: boolean): void {
    if (this.poisoned !== null || (this.slot(a) < 0 && this.slot(b) < 0)) return;
    if (this.full()) return;
    this.log.pushOther({ kind: "test", name, f, a: this.toArg(a), b: this.toArg(b), outcome });
  }

  /** True (and the run untraceable) when the trace has reached its limit. */
  private full(): boolean {
    if (this.log.length < this.limit) return false;
    this.poison(
      `the run has more than ${this.limit} parameter-dependent operations and guards (the trace limit)`,
    );
    return true;
  }

  /** Marks the run as untraceable, with the reason. */
  poison(reason: string): void {
    this.poisoned ??= reason;
  }

  /** The finished trace of a run that returned `result` (and `aux`). */
  finish(result: unknown, aux: unknown): Recorded {
    const arg = (x: unknown): TraceArg => (x === undefined || x === null ? 0 : this.toArg(x));
    return {
      log: this.log,
      slots: this.shapes.length,
      shapes: this.shapes,
      params: this.params,
      inputs: this.inputs,
      result: arg(result),
      aux: aux === undefined || aux === null ? null : arg(aux),
    };
  }
}

/** The active recorder, or null (read on every op: keep it a plain module variable). */
export let recorder: Recorder | null = null;

/** Makes `r` the active recorder (null: none); returns the previous one. */
export function setRecorder(r: Recorder | null): Recorder | null {
  const prev = recorder;
  recorder = r;
  return prev;
}

/** The elements of a node as a fresh Float64Array (one element for rank 0). */
export function elementsOf(n: Node): Float64Array {
  return n.data === null ? Float64Array.of(n.v) : n.data.slice();
}

/**
 * The elements of a staged function's auxiliary output (a number or node), read without a
 * guard because the run is over; null when there is none.
 */
export function auxElements(x: unknown): Float64Array | null {
  if (typeof x === "number") return Float64Array.of(x);
  return x instanceof Node ? elementsOf(x) : null;
}
