/**
 * The programs the interpreted-vs-direct benchmarks time: fixtures of different shapes
 * (ODE loop with a procedure argument, matrix Kalman filter, an interpreter written in
 * Scheme, tree recursion, a tensor MLP, a long tail loop), each timed for value+gradient
 * directly compiled and through the compiled evaluator, on tfjs and f64.
 */
import { loadProgram, type Program, valueAndGrad } from "../lib/program.ts";
import { interpretedValueAndGrad } from "../lib/dmci.ts";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { tfjsBackend } from "../lib/backend/tfjs/mod.ts";
import type { Backend } from "../lib/backend/backend.ts";

/** Fixture names, one per program shape. */
export const INTERP_PROGRAMS = [
  "logistic_rk4",
  "kalman_2state",
  "mini_lambda_interpreter",
  "fib_tree_recursion",
  "mlp_tensor",
  "tail_loop_long",
] as const;

/** One program on one backend: its direct and interpreted value+gradient runs. */
export interface InterpCase {
  readonly name: string;
  readonly backend: string;
  readonly direct: () => void;
  readonly interpreted: () => void;
}

/** Loads the programs and pairs them with both backends; checks both modes agree first. */
export async function loadInterpCases(): Promise<InterpCase[]> {
  const out: InterpCase[] = [];
  for (const name of INTERP_PROGRAMS) {
    const url = new URL(`../fixtures/programs/${name}.scm`, import.meta.url);
    const prog: Program = loadProgram(await Deno.readTextFile(url), `${name}.scm`);
    for (const backend of [f64Backend, tfjsBackend] as Backend[]) {
      const d = valueAndGrad(prog, backend);
      const i = interpretedValueAndGrad(prog, backend);
      if (Math.abs(d.value - i.value) > 1e-5 * Math.max(1, Math.abs(d.value))) {
        throw new Error(`${name} on ${backend.name}: direct ${d.value} ≠ interpreted ${i.value}`);
      }
      out.push({
        name,
        backend: backend.name,
        direct: () => void valueAndGrad(prog, backend),
        interpreted: () => void interpretedValueAndGrad(prog, backend),
      });
    }
  }
  return out;
}
