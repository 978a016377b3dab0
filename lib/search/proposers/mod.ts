/**
 * The proposers by name, for the search's CLI: `mutate` (offline, the default) and, once
 * built, `llm`. Wiring only: each proposer lives in its own module.
 */
import { DmciError } from "../../errors.ts";
import type { Proposer } from "../types.ts";
import { type MutateOptions, mutateProposer } from "./mutate.ts";

/** Names `makeProposer` accepts. */
export const PROPOSER_NAMES = ["mutate"] as const;

/** Options of every proposer, by proposer. */
export interface ProposerOptions {
  readonly mutate?: MutateOptions;
}

/**
 * Builds the proposer named `name`.
 *
 * @example
 * ```ts
 * makeProposer("mutate").name; // "mutate"
 * ```
 */
export function makeProposer(name: string, options: ProposerOptions = {}): Proposer {
  switch (name) {
    case "mutate":
      return mutateProposer(options.mutate);
    default:
      throw new DmciError(
        "spec",
        `--proposer: unknown proposer ${JSON.stringify(name)} (expected one of ${PROPOSER_NAMES.join(", ")})`,
      );
  }
}

export { mutateOnce, mutateProposer } from "./mutate.ts";
export type { MutateOptions } from "./mutate.ts";
