/**
 * The proposers by name, for the search's CLI: `mutate` (offline, the default) and `llm`
 * (any OpenAI-compatible endpoint). Wiring only: each proposer lives in its own module.
 */
import { DmciError } from "../../errors.ts";
import type { Proposer } from "../types.ts";
import { type MutateOptions, mutateProposer } from "./mutate.ts";
import { type LlmOptions, llmOptionsFromEnv, llmProposer } from "./llm.ts";

/** Names `makeProposer` accepts. */
export const PROPOSER_NAMES = ["mutate", "llm"] as const;

/** Options of every proposer, by proposer. */
export interface ProposerOptions {
  readonly mutate?: MutateOptions;
  /** Over the `DMCI_LLM_*` environment variables (`llmOptionsFromEnv`), which fill what is unset. */
  readonly llm?: LlmOptions;
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
    case "llm":
      return llmProposer({ ...llmOptionsFromEnv(), ...defined(options.llm ?? {}) });
    default:
      throw new DmciError(
        "spec",
        `--proposer: unknown proposer ${JSON.stringify(name)} (expected one of ${PROPOSER_NAMES.join(", ")})`,
      );
  }
}

/** The options that are set (a flag left undefined does not hide its environment variable). */
function defined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export { mutateOnce, mutateProposer } from "./mutate.ts";
export type { MutateOptions } from "./mutate.ts";
export { LLM_ENV, llmOptionsFromEnv, llmProposer, sumUsage } from "./llm.ts";
export type { CallRecord, LlmOptions, LlmProposer } from "./llm.ts";
