/**
 * A search job, run inside a job's worker (lib/server/worker.ts, no permissions but, with the
 * `llm` proposer, the network of the server's LLM endpoint): the search loop of `deno task search`
 * (lib/search/controller.ts) held in memory, candidates calibrated by `evaluator` (the runner's pool
 * of workers with no permissions at all, reached by messages), progress reported after each round,
 * and the result the JSON document `search --json` prints. It writes no file: a restarted server
 * runs the job again from the start.
 */
import { runRounds, SearchState } from "../search/controller.ts";
import type { Evaluator } from "../search/pool.ts";
import { mutateProposer } from "../search/proposers/mutate.ts";
import { type LlmOptions, llmProposer } from "../search/proposers/llm.ts";
import { searchDocument, testReport } from "../search/outputs.ts";
import type { Proposer } from "../search/types.ts";
import type { SearchProgressRecord, SearchRequest } from "./store.ts";
import { SEARCH_JOB_WORKERS } from "./job_messages.ts";

/**
 * Runs the search of `r`, calling `progress` after each round; returns the `search --json` document.
 *
 * @example
 * ```ts
 * const result = await runSearchJob(request, workerPool(request.material, 1, 60), (p) => console.log(p.evaluations));
 * result.best; // { program, params, score, complexity, … }
 * ```
 */
export async function runSearchJob(
  r: SearchRequest,
  evaluator: Evaluator,
  progress: (p: SearchProgressRecord) => void,
  llm?: LlmOptions,
): Promise<Record<string, unknown>> {
  const block = r.loaded.spec.search;
  const state = new SearchState(block);
  const proposer: Proposer = r.proposer === "llm" ? llmProposer(llm ?? {}) : mutateProposer();
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const snapshot = (): SearchProgressRecord => {
    const best = state.db.best();
    return {
      evaluations: state.count,
      budget: r.evaluations,
      best: best?.score ?? null,
      complexity: best?.complexity ?? null,
      bestId: best?.id ?? null,
      rejected: Object.values(state.rejected).reduce((a, b) => a + b, 0),
      seconds: elapsed(),
    };
  };
  try {
    await runRounds(state, {
      info: r.material.info,
      seeds: r.loaded.seeds.map((s) => s.text),
      proposer,
      evaluator,
      seed: r.seed,
      width: SEARCH_JOB_WORKERS,
    }, {
      budget: r.evaluations,
      minutes: r.minutes ?? undefined,
      elapsed,
      afterRound: () => progress(snapshot()),
    });
  } finally {
    evaluator.close();
  }
  const best = state.db.best();
  const test = best ? await testReport(r.loaded, best) : null;
  return searchDocument(state, elapsed(), test, proposer.usage?.() ?? null);
}
