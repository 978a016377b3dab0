/**
 * The f64 backend's value type and its tape: a node holds a float64 value (a plain number
 * for rank 0, a Float64Array for rank ≥ 1) and, if it depends on a parameter, the op that
 * made it; `backward` is one reverse loop over the recorded nodes. This module knows no op.
 */

/**
 * A vector-Jacobian product: reads `n.g` / `n.gd` (the gradient of the output) and adds
 * the contribution to the gradients of those inputs of `n` that are on the same tape.
 * Shared per op (never a closure per node) so recording a node costs one allocation.
 */
export type Vjp = (n: Node) => void;

/** An input of a recorded op: a plain number or another node. */
export type Operand = Node | number;

/** The shape of every rank-0 node (shared, never mutated). */
export const SCALAR: readonly number[] = Object.freeze([]);

/**
 * A backend value. Rank 0: `data` is null and the value is `v`; rank ≥ 1: the row-major
 * elements are `data` and `v` is unused. Values are immutable once made, so nodes may share
 * `data` (reshape does). A constant has `tape` 0 and keeps no inputs.
 */
export class Node {
  /** The dimensions; `SCALAR` (empty) for rank 0. */
  readonly shape: readonly number[];
  /** The value of a rank-0 node. */
  readonly v: number;
  /** The elements of a rank ≥ 1 node, row-major; null for rank 0. */
  readonly data: Float64Array | null;
  /** Id of the tape this node was recorded on; 0 for a constant. */
  readonly tape: number;
  /** How to push the gradient to the inputs; null for leaves and constants. */
  readonly vjp: Vjp | null;
  /** First input (op-specific). */
  readonly a: Operand | null;
  /** Second input (op-specific). */
  readonly b: Operand | null;
  /** Whatever else the VJP needs (the op's rule, index maps, factorizations). */
  readonly aux: unknown;
  /** Accumulated gradient of a rank-0 node. */
  g = 0;
  /** Accumulated gradient of a rank ≥ 1 node; allocated on first contribution. */
  gd: Float64Array | null = null;
  /** The id of the trace recorder that gave this node a slot (0: none) and the slot (trace/record.ts). */
  tr = 0;
  ts = 0;

  constructor(
    shape: readonly number[],
    v: number,
    data: Float64Array | null,
    tape: number,
    vjp: Vjp | null,
    a: Operand | null,
    b: Operand | null,
    aux: unknown,
  ) {
    this.shape = shape;
    this.v = v;
    this.data = data;
    this.tape = tape;
    this.vjp = vjp;
    this.a = a;
    this.b = b;
    this.aux = aux;
  }
}

/** The active tape: its id (-1 when none, so that no node, constant or stale, matches) and its nodes. */
let tapeId = -1;
let nodes: Node[] = [];
let lastId = 0;

/** True when x is a node recorded on the active tape, i.e. it depends on a current parameter. */
export function isTracked(x: unknown): x is Node {
  return x instanceof Node && x.tape === tapeId;
}

/** True when input x of the recorded node n needs a gradient (it is on n's tape). */
export function needsGrad(x: unknown, n: Node): x is Node {
  return x instanceof Node && x.tape === n.tape;
}

/**
 * Makes an op's result. When `tracked` (some input is on the active tape) the node keeps its
 * inputs and VJP and is appended to the tape; otherwise it is a constant and drops them.
 */
export function make(
  shape: readonly number[],
  v: number,
  data: Float64Array | null,
  tracked: boolean,
  vjp: Vjp,
  a: Operand | null,
  b: Operand | null,
  aux: unknown,
): Node {
  if (tracked) {
    const n = new Node(shape, v, data, tapeId, vjp, a, b, aux);
    nodes[nodes.length] = n; // V8 runs this store faster than a call of push on the hot path
    return n;
  }
  return new Node(shape, v, data, 0, null, null, null, null);
}

/** A constant rank-0 node. */
export function scalarConst(v: number): Node {
  return new Node(SCALAR, v, null, 0, null, null, null, null);
}

/** A constant node of the given shape and elements (rank 0 when `shape` is empty). */
export function tensorConst(shape: readonly number[], data: Float64Array): Node {
  return shape.length === 0 ? scalarConst(data[0]) : new Node(shape, 0, data, 0, null, null, null, null);
}

/** A parameter leaf on the active tape (never appended: it has nothing to propagate to). */
export function leaf(shape: readonly number[], v: number, data: Float64Array | null): Node {
  return new Node(shape.length === 0 ? SCALAR : shape, v, data, tapeId, null, null, null, null);
}

/** The gradient buffer of a rank ≥ 1 node, allocated (zero) on first use. */
export function gradBuf(x: Node): Float64Array {
  return x.gd ??= new Float64Array(x.data!.length);
}

/** The one-element view of a rank-0 output gradient that `outGrad` lends out. */
const SCALAR_GRAD = new Float64Array(1);

/**
 * The output gradient of a recorded node as flat elements (length 1 for rank 0). For rank 0
 * it is a shared buffer, valid until the next call: a VJP reads it and keeps no reference.
 */
export function outGrad(n: Node): Float64Array {
  if (n.data !== null) return n.gd!;
  SCALAR_GRAD[0] = n.g;
  return SCALAR_GRAD;
}

/** Adds flat gradient elements `g` (same element count as x) into x's gradient. */
export function addGrad(x: Node, g: Float64Array): void {
  if (x.data === null) {
    x.g += g[0];
    return;
  }
  const buf = gradBuf(x);
  for (let i = 0; i < buf.length; i++) buf[i] += g[i];
}

/** Saved tape state, restored by `endTape` so that tapes nest and errors leave nothing behind. */
export interface TapeState {
  readonly id: number;
  readonly nodes: Node[];
}

/**
 * Starts a fresh tape (`record` true) or a no-tape scope (`record` false: nothing is
 * recorded, even values of an enclosing tape count as constants). Returns the state to restore.
 */
export function beginTape(record: boolean): TapeState {
  const saved = { id: tapeId, nodes };
  tapeId = record ? ++lastId : -1;
  nodes = [];
  return saved;
}

/** Restores the state saved by `beginTape`; call it in a `finally`. */
export function endTape(saved: TapeState): void {
  tapeId = saved.id;
  nodes = saved.nodes;
}

/** Number of nodes on the active tape (for tests and diagnostics). */
export function tapeLength(): number {
  return nodes.length;
}

/**
 * Back-propagates from whatever gradients have been seeded on the active tape: visits the
 * recorded nodes newest first, so every node's gradient is complete before it is pushed on.
 * Nodes that received no gradient are skipped (a zero cotangent contributes nothing).
 * Since nothing reads `n.gd` once n's VJP has run, a VJP may hand that buffer over, rewritten
 * in place, to an input of the same element count that has no gradient buffer yet: this saves
 * allocating one per elementwise op.
 */
export function backward(): void {
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (n.data === null ? n.g !== 0 : n.gd !== null) n.vjp!(n);
  }
}
