/**
 * The general replay engine: runs a trace's ops again through the same f64 op functions that
 * recorded them, on a fresh tape, then one backward sweep. No interpreter, no list or closure
 * work is left, and every op and gradient is bit-identical to the untraced run by construction;
 * tensor programs, whose time is in the kernels, use it.
 */
import type { ParamValue, StagedResult } from "../../backend.ts";
import { leafGrads, paramConst, paramLeaf, scalarValue, seed } from "../params.ts";
import { backward, beginTape, endTape, isTracked, type Node } from "../tape.ts";
import {
  auxElements,
  type GuardEntry,
  type Recorded,
  SlotRef,
  type TraceArg,
  type TraceEntry,
} from "./record.ts";

/** A trace prepared for replay; each call returns null where a guard fails. */
export interface CompiledTrace {
  /** `js` (generated code), `ops` (typed-array opcode loop) or `nodes` (this module). */
  readonly engine: string;
  /** Number of recorded entries. */
  readonly size: number;
  /** Loops in the generated code (see reroll.ts); 0 for the other engines. */
  readonly loops: number;
  /** Value and gradient at θ on the data inputs `data` (constant nodes), or null. */
  valueAndGrad(theta: readonly ParamValue[], data: readonly Node[]): StagedResult | null;
  forward(
    theta: readonly ParamValue[],
    data: readonly Node[],
  ): { value: number; aux: Float64Array | null } | null;
}

function resolve(a: TraceArg, vals: readonly unknown[]): unknown {
  if (a instanceof SlotRef) return vals[a.slot];
  if (Array.isArray(a)) return a.map((x) => resolve(x, vals));
  return a;
}

/** The elements a guard compares: what `toNumber` / `toNested` returned at recording. */
function guardHolds(g: GuardEntry, x: unknown): boolean {
  const obs = g.observed;
  if (typeof x === "number") return obs.length === 1 && Object.is(x, obs[0]);
  const n = x as Node;
  if (n.data === null) return obs.length === 1 && Object.is(n.v, obs[0]);
  if (n.data.length !== obs.length) return false;
  for (let i = 0; i < obs.length; i++) if (!Object.is(n.data[i], obs[i])) return false;
  return true;
}

/** Runs the ops in order into `vals`; false as soon as a guard fails. */
function runEntries(entries: readonly TraceEntry[], vals: unknown[]): boolean {
  for (const e of entries) {
    if (e.kind === "op") vals[e.out] = e.redo(e.args.map((a) => resolve(a, vals)));
    else if (e.kind === "test") {
      if (e.f(scalarValue(resolve(e.a, vals)), scalarValue(resolve(e.b, vals))) !== e.outcome) return false;
    } else if (!guardHolds(e, vals[e.slot])) return false;
  }
  return true;
}

/**
 * The node-replay engine for a recorded trace.
 *
 * @example
 * ```ts
 * const c = nodeReplay(recorded, 10_000_000);
 * c.valueAndGrad([0.3])?.grad; // as the untraced run at 0.3, or null if a guard fails
 * ```
 */
export function nodeReplay(t: Recorded, max: number): CompiledTrace {
  const entries = t.log.all();
  return {
    engine: "nodes",
    size: entries.length,
    loops: 0,
    valueAndGrad(theta, data) {
      const saved = beginTape(true);
      try {
        const vals: unknown[] = new Array(t.slots);
        const leaves = theta.map((p, i) => paramLeaf(p, i, max));
        for (let i = 0; i < leaves.length; i++) vals[i] = leaves[i];
        for (let j = 0; j < t.inputs; j++) vals[t.params + j] = data[j];
        if (!runEntries(entries, vals)) return null;
        const y = resolve(t.result, vals), value = scalarValue(y);
        const aux = t.aux === null ? null : auxElements(resolve(t.aux, vals));
        if (isTracked(y)) {
          seed(y);
          backward();
        }
        return { value, grad: leafGrads(leaves, theta), aux };
      } finally {
        endTape(saved);
      }
    },
    forward(theta, data) {
      const saved = beginTape(false);
      try {
        const vals: unknown[] = new Array(t.slots);
        theta.forEach((p, i) => vals[i] = paramConst(p, i, max));
        for (let j = 0; j < t.inputs; j++) vals[t.params + j] = data[j];
        if (!runEntries(entries, vals)) return null;
        const value = scalarValue(resolve(t.result, vals));
        return { value, aux: t.aux === null ? null : auxElements(resolve(t.aux, vals)) };
      } finally {
        endTape(saved);
      }
    },
  };
}
