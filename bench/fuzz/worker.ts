/**
 * The fuzzer's worker: checks the programs (or malformed inputs) of a range of seeds and
 * posts one message per seed, so the main thread can stop it when one takes too long.
 */
/// <reference lib="deno.worker" />
import { f64Backend } from "../../lib/backend/f64/mod.ts";
import { loadProgram, runProgram } from "../../lib/program.ts";
import { checkProgram, COUNTED_KINDS, emptyTally, FUZZ_FUEL, type TraceTally } from "./check.ts";
import { generateProgram } from "./generate.ts";
import { checkMalformed, mutant } from "./malformed.ts";

/** A request: check seeds from `from` (inclusive) to `to` (exclusive). */
export interface WorkRequest {
  readonly mode: "programs" | "malformed";
  readonly from: number;
  readonly to: number;
  /** Also write each program's value with its literals as constants (for Guile). */
  readonly written: boolean;
}

/** The answer for one seed. */
export interface WorkResult {
  readonly seed: number;
  readonly finding?: import("./check.ts").Finding;
  readonly written?: string;
  /** How this seed's traced calls were answered. */
  readonly tally?: TraceTally;
}

self.onmessage = (e: MessageEvent<WorkRequest>) => {
  const { mode, from, to, written } = e.data;
  for (let seed = from; seed < to; seed++) {
    const file = `fuzz-${seed}.scm`;
    if (mode === "malformed") {
      self.postMessage({ seed, finding: checkMalformed(mutant(seed).text, file) } satisfies WorkResult);
      continue;
    }
    const { text } = generateProgram(seed);
    const tally = emptyTally();
    const finding = checkProgram(text, file, seed, undefined, { tally });
    let value: string | undefined;
    if (written && (!finding || COUNTED_KINDS.has(finding.kind))) {
      try {
        value = runProgram(loadProgram(text, file, { model: false }), f64Backend, {
          limits: { fuel: FUZZ_FUEL },
        });
      } catch {
        value = undefined;
      }
    }
    self.postMessage({ seed, finding, written: value, tally } satisfies WorkResult);
  }
  self.postMessage({ seed: -1 } satisfies WorkResult);
};
