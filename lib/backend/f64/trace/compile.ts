/**
 * Chooses the replay engine of a recorded trace: a trace of scalar arithmetic only (the
 * recurrences, scalar filters and loops that dominate model programs) compiles to generated
 * JavaScript over a Float64Array arena (`js`), its repeated runs rerolled into loops, when the
 * code is short enough for V8 to optimise, else to a typed-array opcode loop (`ops`); any other trace (tensors) replays
 * through the op functions themselves (`nodes`). See bench/trace_ratios.ts for the measurements
 * behind `JS_LIMIT`.
 */
import type { Recorded } from "./record.ts";
import { type CompiledTrace, nodeReplay } from "./replay_nodes.ts";
import { generatedSize, JS_LIMIT, lowerScalar, regionsOf, scalarEngine } from "./replay_scalar.ts";

/**
 * The compiled replay of `t` on an f64 backend whose tensor size limit is `max`.
 *
 * @example
 * ```ts
 * compileTrace(recorded, 10_000_000).engine; // "js", "ops" or "nodes"
 * ```
 */
export function compileTrace(t: Recorded, max: number): CompiledTrace {
  const lowered = lowerScalar(t);
  if (lowered === null) return nodeReplay(t, max);
  const regions = regionsOf(lowered);
  return scalarEngine(lowered, generatedSize(regions) <= JS_LIMIT ? "js" : "ops", regions);
}
