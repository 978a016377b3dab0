/**
 * Staged functions on f64: the first call records a trace (record.ts) during an ordinary
 * untraced run and compiles it (compile.ts); later calls replay it. A replay whose guard fails,
 * or that throws, is abandoned and the next kept trace is tried; when none holds, the call
 * runs untraced again, recording a new trace kept beside the others (at most `MAX_TRACES`,
 * least recently used dropped). So every result is the untraced run's, errors included: an
 * error is only ever raised by an untraced run, with its place in the program.
 *
 * Traces are kept per staged function (one program with its data) and parameter shapes.
 * A function that cannot be traced (a nested backend scope, more than `TRACE_LIMIT` entries),
 * or whose guards keep failing (`THRASH_LIMIT` recordings in a row without a replay), runs
 * untraced from then on, and says why in its stats.
 */
import type {
  ParamValue,
  StagedBody,
  StagedFunction,
  StagedResult,
  StageOptions,
  StageStats,
  TensorData,
} from "../../backend.ts";
import { dataConst, leafGrads, paramConst, paramLeaf, scalarValue, seed } from "../params.ts";
import { backward, beginTape, endTape, isTracked, type Node } from "../tape.ts";
import { compileTrace } from "./compile.ts";
import { auxElements, type Recorded, Recorder, setRecorder } from "./record.ts";
import type { CompiledTrace } from "./replay_nodes.ts";

/** Traces kept per staged function and parameter shapes. */
export const MAX_TRACES = 8;
/** Recordings in a row (no replay between) after which a function stops tracing. */
export const THRASH_LIMIT = 24;

/**
 * A recorded trace compiled on its first replay, not when recorded: a call made once (the
 * metrics on test rows) pays no compilation. `compiled` reports the engine when it is made.
 */
function lazyCompile(t: Recorded, max: number, compiled: (c: CompiledTrace) => void): CompiledTrace {
  let c: CompiledTrace | null = null;
  const get = (): CompiledTrace => {
    if (c === null) {
      c = compileTrace(t, max);
      compiled(c);
    }
    return c;
  };
  return {
    get engine() {
      return get().engine;
    },
    get size() {
      return t.log.length;
    },
    get loops() {
      return get().loops;
    },
    valueAndGrad: (theta, data) => get().valueAndGrad(theta, data),
    forward: (theta, data) => get().forward(theta, data),
  };
}

/** A key of the parameters' and data's shapes: each combination gets its own traces. */
function shapeKey(theta: readonly ParamValue[], data: readonly Node[]): string {
  let k = "";
  for (const p of theta) k += typeof p === "number" ? "s," : `[${p.shape.join("x")}],`;
  k += "|";
  for (const d of data) k += `[${d.shape.join("x")}],`;
  return k;
}

/**
 * `f` staged on the f64 backend whose tensor size limit is `max`.
 *
 * @example
 * ```ts
 * const s = f64Backend.stage(([k]) => ({ value: f64Backend.unary("square", k) }));
 * s.valueAndGrad([3]); // records: { value: 9, grad: [6], aux: null }
 * s.valueAndGrad([4]); // replays:  { value: 16, grad: [8], aux: null }
 * ```
 */
export function stageF64(f: StagedBody, max: number, options: StageOptions = {}): StagedFunction {
  const byShape = new Map<string, CompiledTrace[]>();
  let recordings = 0, replays = 0, guardFailures = 0, inARow = 0, engine = "", entries = 0, loops = 0;
  let untraced: string | null = options.trace === false ? "tracing turned off" : null;

  /** One untraced run with gradient that also records (unless tracing is off). */
  function record(theta: readonly ParamValue[], data: Node[], key: string): StagedResult {
    const saved = beginTape(true);
    let out: { value: unknown; aux?: unknown };
    let leaves: Node[];
    try {
      leaves = theta.map((p, i) => paramLeaf(p, i, max));
      const recorder = untraced === null ? new Recorder(leaves, options.traceLimit, data) : null;
      const prev = setRecorder(recorder);
      try {
        out = f(leaves, data);
      } finally {
        setRecorder(prev);
      }
      const value = scalarValue(out.value), aux = auxElements(out.aux);
      if (isTracked(out.value)) {
        seed(out.value);
        backward();
      }
      const result = { value, grad: leafGrads(leaves, theta), aux };
      if (recorder !== null) keep(recorder, out, key);
      return result;
    } finally {
      endTape(saved);
    }
  }

  function keep(recorder: Recorder, out: { value: unknown; aux?: unknown }, key: string): void {
    recordings++;
    if (recorder.poisoned !== null) {
      untraced = recorder.poisoned;
      return;
    }
    if (++inARow > THRASH_LIMIT) {
      untraced = `guards failed on ${THRASH_LIMIT} calls in a row`;
      byShape.clear();
      return;
    }
    const compiled = lazyCompile(recorder.finish(out.value, out.aux), max, (c) => {
      engine = c.engine;
      entries = c.size;
      loops = c.loops;
    });
    const list = byShape.get(key) ?? [];
    list.unshift(compiled);
    if (list.length > MAX_TRACES) list.pop();
    byShape.set(key, list);
  }

  /** The first kept trace whose guards hold at θ, moved to the front, and its result; or null. */
  function replay<R>(key: string, run: (t: CompiledTrace) => R | null): R | null {
    const list = byShape.get(key);
    if (list === undefined) return null;
    for (let i = 0; i < list.length; i++) {
      let r: R | null;
      try {
        r = run(list[i]);
      } catch {
        r = null; // the untraced run below raises it, with its place, or shows it was spurious
      }
      if (r === null) {
        guardFailures++;
        continue;
      }
      if (i > 0) list.unshift(...list.splice(i, 1));
      replays++;
      inARow = 0;
      return r;
    }
    return null;
  }

  const dataNodes = (data: readonly TensorData[] = []) => data.map((d, i) => dataConst(d, i, max));
  return {
    valueAndGrad(theta, data) {
      const nodes = dataNodes(data), key = shapeKey(theta, nodes);
      if (untraced === null) {
        const r = replay(key, (t) => t.valueAndGrad(theta, nodes));
        if (r !== null) return r;
      }
      return record(theta, nodes, key);
    },
    forward(theta, data) {
      const nodes = dataNodes(data), key = shapeKey(theta, nodes);
      if (untraced === null) {
        const r = replay(key, (t) => t.forward(theta, nodes));
        if (r !== null) return r;
        const { value, aux } = record(theta, nodes, key); // a new trace, recorded with the gradient machinery
        return { value, aux };
      }
      const saved = beginTape(false);
      try {
        const out = f(theta.map((p, i) => paramConst(p, i, max)), nodes);
        return { value: scalarValue(out.value), aux: auxElements(out.aux) };
      } finally {
        endTape(saved);
      }
    },
    stats: (): StageStats => ({
      recordings,
      replays,
      guardFailures,
      traces: [...byShape.values()].reduce((n, l) => n + l.length, 0),
      untraced,
      engine,
      entries,
      loops,
    }),
  };
}
