/**
 * One search run: the state restored (on --resume) from the checkpoint and the history after it,
 * the pool started, rounds until the budget (evaluations or minutes) is spent or a signal stops
 * it, a checkpoint every N records and on SIGINT/SIGTERM, and the outputs at the end. The loop
 * itself is controller.ts's; this module owns the files and the clock.
 */
import { join } from "node:path";
import { DmciError } from "../errors.ts";
import { Database } from "./database.ts";
import { type HistoryRecord, type LoopContext, runRounds, SearchState } from "./controller.ts";
import { type Checkpoint, HistoryFile, readCheckpoint, readHistory, writeAtomic } from "./checkpoint.ts";
import { type Evaluator, workerPool } from "./pool.ts";
import { makeProposer, type ProposerOptions, sumUsage } from "./proposers/mod.ts";
import type { Proposer, ProposerCall, TokenUsage } from "./types.ts";
import type { LoadedSearch } from "./spec.ts";
import { type TaskMaterial, taskMaterial } from "./tasks/mod.ts";
import { type TestReport, writeOutputs } from "./outputs.ts";

/** Options of a run (the CLI's flags). */
export interface SearchOptions {
  readonly out: string;
  readonly resume?: boolean;
  readonly proposer?: string | Proposer;
  /** Options of the proposer named by `proposer` (the CLI's --llm-* flags). */
  readonly proposerOptions?: ProposerOptions;
  readonly evaluations?: number;
  readonly minutes?: number;
  readonly workers?: number;
  readonly seed?: number;
  /** A battery search's cell folder (overrides the spec's). */
  readonly data?: string;
  /** Progress lines. */
  readonly onProgress?: (line: string, final: boolean) => void;
  /** Handle SIGINT/SIGTERM (checkpoint, then exit 130). Default true. */
  readonly signals?: boolean;
  /** Skip the plots (tests). */
  readonly plots?: boolean;
  /** The evaluator (tests); default: a worker pool. */
  readonly evaluator?: (material: TaskMaterial, workers: number, seconds: number) => Evaluator;
}

/** What a run returns. */
export interface SearchResult {
  readonly state: SearchState;
  readonly seconds: number;
  readonly files: string[];
  readonly test: TestReport | null;
  readonly records: Map<string, HistoryRecord>;
  /** Tokens of the proposer's requests over every run of this search (llm_calls.jsonl), or null. */
  readonly tokens: TokenUsage | null;
}

/** The file of a calling proposer's request log, one attempt per line. */
export const CALLS_FILE = "llm_calls.jsonl";

/** Every attempt in `dir/llm_calls.jsonl` (complete lines only). */
async function readCalls(dir: string): Promise<ProposerCall[]> {
  try {
    const text = await Deno.readTextFile(join(dir, CALLS_FILE));
    return text.split("\n").filter((l) => l.trim() !== "").flatMap((l) => {
      try {
        return [JSON.parse(l) as ProposerCall];
      } catch {
        return []; // a torn last line
      }
    });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

function shapeOf(s: LoadedSearch) {
  const b = s.spec.search;
  return {
    islands: b.islands,
    complexityBins: b.complexity_bins,
    behaviourBins: b.behaviour_bins,
    maxComplexity: b.max_complexity,
  };
}

/**
 * Runs (or resumes) a search.
 *
 * @example
 * ```ts
 * const r = await runSearch(await loadSearchSpec("fixtures/specs/pendulum-search.json"), { out: "out/s", evaluations: 50 });
 * r.state.db.best()?.score;
 * ```
 */
export async function runSearch(s: LoadedSearch, o: SearchOptions): Promise<SearchResult> {
  const b = s.spec.search;
  await Deno.mkdir(o.out, { recursive: true });
  const seed = o.seed ?? s.spec.optimizer.seed;
  const state = new SearchState(b);
  const records = new Map<string, HistoryRecord>();
  let base = 0;
  const history = await readHistory(o.out);
  if (o.resume) {
    const ck = await readCheckpoint(o.out);
    if (ck && ck.seed !== seed) {
      throw new DmciError("spec", `--resume ${o.out}: the search ran with --seed ${ck.seed}, not ${seed}`);
    }
    let from = 0;
    if (ck) {
      restore(state, s, ck);
      from = ck.count;
      base = ck.elapsed;
    }
    for (const r of history) {
      records.set(r.id, r);
      if (r.n > from) state.apply(r);
      base = Math.max(base, r.time);
    }
  } else if (history.length > 0) {
    throw new DmciError(
      "io",
      `${o.out} already holds a search (${history.length} records): --resume ${o.out} or another --out`,
    );
  }
  const budget = o.evaluations ?? b.evaluations;
  const minutes = o.minutes ?? b.minutes;
  const workers = Math.max(1, o.workers ?? navigator.hardwareConcurrency ?? 2);
  const material = await taskMaterial(s, { data: o.data });
  const evaluator = (o.evaluator ?? workerPool)(material, workers, b.seconds);
  const proposer = typeof o.proposer === "object"
    ? o.proposer
    : makeProposer(o.proposer ?? "mutate", o.proposerOptions);
  // A calling proposer's attempts are appended after each round; a resumed search keeps the old ones.
  const earlierCalls = proposer.calls ? (o.resume ? await readCalls(o.out) : []) : null;
  let callsWritten = 0;
  const writeCalls = async () => {
    const calls = proposer.calls?.() ?? [];
    if (calls.length === callsWritten) return;
    const lines = calls.slice(callsWritten).map((c) => JSON.stringify(c) + "\n").join("");
    await Deno.writeTextFile(join(o.out, CALLS_FILE), lines, { append: true });
    callsWritten = calls.length;
  };
  const ctx: LoopContext = {
    info: material.info,
    seeds: s.seeds.map((x) => x.text),
    proposer,
    evaluator,
    seed,
    width: workers,
  };
  const t0 = performance.now();
  const elapsed = () => base + (performance.now() - t0) / 1000;
  const file = await HistoryFile.open(o.out);
  let checkpointing: Promise<void> = Promise.resolve();
  const checkpoint = () =>
    checkpointing = checkpointing.then(async () => {
      await file.sync();
      await writeCheckpoint(o.out, s, seed, state, elapsed());
    });
  const onSignal = async () => {
    await checkpoint();
    evaluator.close();
    o.onProgress?.(`search: stopped by a signal after ${state.count} records; checkpoint written`, true);
    Deno.exit(130);
  };
  const signals = o.signals !== false ? (["SIGINT", "SIGTERM"] as const) : [];
  signals.forEach((sig) => Deno.addSignalListener(sig, onSignal));
  try {
    const start = state.count;
    let lastCheckpoint = state.count;
    await runRounds(state, ctx, {
      budget,
      minutes,
      elapsed,
      beforeApply: async (recs) => {
        await file.append(recs);
        await writeCalls();
      },
      afterRound: async (recs) => {
        for (const r of recs) records.set(r.id, r);
        if (state.count - lastCheckpoint >= b.checkpoint_every) {
          lastCheckpoint = state.count;
          await checkpoint();
        }
        o.onProgress?.(
          progressLine(
            state,
            budget,
            minutes,
            elapsed(),
            state.count - start,
            (performance.now() - t0) / 1000,
          ),
          false,
        );
      },
    });
    await checkpoint();
  } finally {
    signals.forEach((sig) => Deno.removeSignalListener(sig, onSignal));
    evaluator.close();
    file.close();
  }
  const { files, test } = o.plots === false
    ? { files: [], test: null }
    : await writeOutputs(o.out, s, state, records);
  const tokens = earlierCalls === null ? null : sumUsage([...earlierCalls, ...(proposer.calls?.() ?? [])]);
  return { state, seconds: elapsed(), files, test, records, tokens };
}

/** Writes checkpoint.json for the state as applied. */
async function writeCheckpoint(
  out: string,
  s: LoadedSearch,
  seed: number,
  state: SearchState,
  elapsed: number,
) {
  const ck: Checkpoint = {
    version: 1,
    spec: s.file,
    seed,
    count: state.count,
    elapsed,
    db: state.db.snapshot(),
    recentErrors: state.recentErrors,
    rejected: state.rejected,
    progress: state.progress,
  };
  await writeAtomic(join(out, "checkpoint.json"), JSON.stringify(ck));
}

/** The state from a checkpoint. */
function restore(state: SearchState, s: LoadedSearch, ck: Checkpoint): void {
  (state as { db: Database }).db = Database.restore(shapeOf(s), ck.db);
  state.count = ck.count;
  state.recentErrors = ck.recentErrors;
  state.rejected = ck.rejected;
  state.progress = ck.progress;
}

/** `12m30s`. */
function duration(seconds: number): string {
  const m = Math.floor(seconds / 60), sec = Math.round(seconds % 60);
  return m > 0 ? `${m}m${String(sec).padStart(2, "0")}s` : `${sec}s`;
}

/** The progress line: evaluations, best score, evaluations per minute, ETA of the budget. */
function progressLine(
  state: SearchState,
  budget: number,
  minutes: number | undefined,
  elapsed: number,
  thisRun: number,
  runSeconds: number,
): string {
  const best = state.db.best();
  const rate = runSeconds > 0 ? (thisRun / runSeconds) * 60 : 0;
  const byCount = rate > 0 ? ((budget - state.count) / rate) * 60 : Infinity;
  const byTime = minutes === undefined ? Infinity : Math.max(0, minutes * 60 - elapsed);
  const eta = Math.min(byCount, byTime);
  return `search: ${state.count}/${budget} evaluations, best ${best ? best.score!.toPrecision(4) : "—"}` +
    `${best ? ` (#${best.id}, complexity ${best.complexity})` : ""}, ${rate.toFixed(0)}/min, ` +
    `ETA ${Number.isFinite(eta) ? duration(eta) : "?"}`;
}
