/**
 * A staged function that stages nothing: every call is one ordinary `valueAndGrad` or `run`
 * of the backend. The tfjs backends use it, and f64 with tracing turned off (`--no-trace`).
 */
import type {
  Backend,
  ParamValue,
  StagedBody,
  StagedFunction,
  StagedResult,
  StageStats,
  TensorData,
} from "./backend.ts";

/** Data inputs as constant backend tensors (inside the backend scope of the run). */
export function dataTensors(B: Backend, data: readonly TensorData[] = []): unknown[] {
  return data.map((d) => B.reshape(B.tensor(Array.from(d.data)), d.shape));
}

/** The elements of a number or tensor as a Float64Array (read inside the backend scope). */
export function auxElements(B: Backend, x: unknown): Float64Array | null {
  if (x === undefined || x === null) return null;
  if (typeof x === "number") return Float64Array.of(x);
  const nested = B.toNested(x);
  return Float64Array.from(
    typeof nested === "number" ? [nested] : (nested as unknown[]).flat(Infinity) as number[],
  );
}

/**
 * `f` run afresh on every call, with why it is not traced (`reason`) in its stats.
 *
 * @example
 * ```ts
 * const s = stageUntraced(f64Backend, ([k]) => ({ value: f64Backend.unary("square", k) }), "off");
 * s.valueAndGrad([3]).grad; // [6]
 * ```
 */
export function stageUntraced(B: Backend, f: StagedBody, reason: string): StagedFunction {
  let runs = 0;
  return {
    valueAndGrad(theta: readonly ParamValue[], data?: readonly TensorData[]): StagedResult {
      runs++;
      let aux: Float64Array | null = null;
      const r = B.valueAndGrad((ps) => {
        const out = f(ps, dataTensors(B, data));
        aux = auxElements(B, out.aux);
        return out.value;
      }, theta);
      return { value: r.value, grad: r.grad, aux };
    },
    forward(theta: readonly ParamValue[], data?: readonly TensorData[]) {
      runs++;
      return B.run((ps) => {
        const out = f(ps, dataTensors(B, data));
        const v = out.value;
        return { value: typeof v === "number" ? v : B.toNumber(v), aux: auxElements(B, out.aux) };
      }, theta);
    },
    stats: (): StageStats => ({
      recordings: 0,
      replays: 0,
      guardFailures: 0,
      traces: 0,
      untraced: `${reason} (${runs} untraced runs)`,
      engine: "",
      loops: 0,
      entries: 0,
    }),
  };
}
