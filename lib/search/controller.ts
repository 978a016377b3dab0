/**
 * The search loop: seed programs first, then rounds of one proposal per worker (parents and
 * inspirations sampled from the database as it stood at the round's start, each proposal seeded
 * by the search seed and its history index), deduplication, evaluation in the pool, and the
 * records applied in history order. The state is a function of the history (`apply`), so the same
 * seed and budget give the same history, and a resumed search replays the records past its last
 * checkpoint and goes on with none lost or repeated. Files are checkpoint.ts's and outputs.ts's.
 */
import { fnv1a, uniform } from "../random.ts";
import { read } from "../read/reader.ts";
import { describeError } from "./proposers/wellformed.ts";
import { Database, type Entry } from "./database.ts";
import { shapeKey } from "./shape.ts";
import type { EvalRequest, Outcome } from "./cascade.ts";
import type { Evaluator } from "./pool.ts";
import type { ConstantReport, Proposal, Proposer, TaskInfo } from "./types.ts";
import type { SearchBlock } from "./spec.ts";

/** One line of history.jsonl: every candidate, accepted or not. */
export interface HistoryRecord {
  /** 1-based index in the history (the evaluation count after it). */
  readonly n: number;
  readonly id: string;
  /** The island it was proposed for (−1 for a seed program, which goes to every island). */
  readonly island: number;
  readonly parent: string | null;
  readonly inspirations: string[];
  readonly proposer: string;
  readonly edit: string;
  /** `accepted`, or where it stopped: `propose`, `duplicate`, `read`, `static`, `quick`, `full`, `timeout`, `crash`. */
  readonly stage: string;
  readonly text: string | null;
  readonly score: number | null;
  readonly quick_score: number | null;
  readonly complexity: number | null;
  readonly behaviour: number | null;
  readonly constants: ConstantReport[];
  readonly fitted_text: string | null;
  readonly message: string | null;
  readonly details: Readonly<Record<string, number | null>>;
  /** Seconds the evaluation took, and seconds since the search began (both vary run to run). */
  readonly seconds: number;
  readonly time: number;
}

/** The mutable state of a search, rebuilt from its history. */
export class SearchState {
  readonly db: Database;
  count = 0;
  /** Recent failures of proposals (fed back to the proposer). */
  recentErrors: { text: string; message: string }[] = [];
  /** Rejections by stage. */
  rejected: Record<string, number> = {};
  /** Best score after each record: [n, time, score]. */
  progress: [number, number, number][] = [];

  constructor(readonly block: SearchBlock) {
    this.db = new Database({
      islands: block.islands,
      complexityBins: block.complexity_bins,
      behaviourBins: block.behaviour_bins,
      maxComplexity: block.max_complexity,
    });
  }

  /** Applies one record: the only way the state changes. */
  apply(r: HistoryRecord): void {
    this.count = r.n;
    if (r.text !== null && r.stage !== "propose" && r.stage !== "duplicate") {
      try {
        this.db.noteShape(shapeKey(read(r.text, "#")), r.id);
      } catch {
        // an unreadable text has no shape
      }
    }
    if (r.stage === "accepted") {
      const e: Entry = {
        id: r.id,
        text: r.text!,
        fittedText: r.fitted_text,
        score: r.score,
        complexity: r.complexity!,
        constants: r.constants,
        rejection: null,
        behaviour: r.behaviour!,
        n: r.n,
      };
      const islands = r.island < 0 ? this.db.shape.islands : 1;
      for (let k = 0; k < islands; k++) this.db.add(e, r.island < 0 ? k : r.island);
    } else {
      this.rejected[r.stage] = (this.rejected[r.stage] ?? 0) + 1;
      if (r.proposer !== "seed" && r.stage !== "duplicate") {
        this.recentErrors = [...this.recentErrors, {
          text: r.text ?? "",
          message: `${r.stage}: ${r.message}`,
        }]
          .slice(-5);
      }
    }
    if (r.n % this.block.migration_interval === 0) this.db.migrate();
    const best = this.db.best();
    if (best) this.progress.push([r.n, r.time, best.score!]);
  }
}

/** What a round needs besides the state. */
export interface LoopContext {
  readonly info: TaskInfo;
  readonly seeds: readonly string[];
  readonly proposer: Proposer;
  readonly evaluator: Evaluator;
  readonly seed: number;
  /** Proposals per round (the number of workers). */
  readonly width: number;
}

/** A proposal of a round, or why there is none. */
type Planned = {
  readonly n: number;
  readonly island: number;
  readonly parent: Entry | null;
  readonly inspirations: Entry[];
  readonly proposal: Proposal | { error: string };
};

/** The proposals of the next round of at most `k` records. */
async function plan(state: SearchState, c: LoopContext, k: number): Promise<Planned[]> {
  const out: Promise<Planned>[] = [];
  // A round of seed programs holds nothing else: proposals need the seeds in the database.
  if (state.count < c.seeds.length) k = Math.min(k, c.seeds.length - state.count);
  for (let j = 0; j < k; j++) {
    const n = state.count + j + 1;
    if (n <= c.seeds.length) {
      out.push(Promise.resolve({
        n,
        island: -1,
        parent: null,
        inspirations: [],
        proposal: { text: c.seeds[n - 1], proposer: "seed", edit: `seed ${n}` },
      }));
      continue;
    }
    const island = (n - 1) % state.db.shape.islands;
    const seed = fnv1a(`${c.seed}:${n}`);
    const sample = state.db.sample(island, uniform(seed));
    if (!sample) {
      out.push(Promise.resolve({
        n,
        island,
        parent: null,
        inspirations: [],
        proposal: { error: "no accepted program to start from (every seed was rejected)" },
      }));
      continue;
    }
    out.push(
      c.proposer.propose({
        task: c.info,
        parent: sample.parent,
        inspirations: sample.inspirations,
        recentErrors: state.recentErrors,
        seed,
      }).catch((e) => ({ error: describeError(e) })).then((proposal) => ({ n, island, ...sample, proposal })),
    );
  }
  return await Promise.all(out);
}

/**
 * Runs one round: plans at most `k` proposals, evaluates the new ones, and returns their records
 * in history order (not yet applied). `elapsed` gives the search's time for the records.
 */
export async function round(
  state: SearchState,
  c: LoopContext,
  k: number,
  elapsed: () => number,
): Promise<HistoryRecord[]> {
  const planned = await plan(state, c, k);
  const quickBar = (() => {
    const w = state.db.worstElite();
    return w === null ? null : w * state.block.quick_factor;
  })();
  const requests: EvalRequest[] = [];
  const duplicateOf = new Map<number, string>();
  const inRound = new Map<string, string>();
  for (const p of planned) {
    if ("error" in p.proposal) continue;
    let key: string | null = null;
    try {
      key = shapeKey(read(p.proposal.text, "#"));
    } catch {
      key = null;
    }
    const first = key === null ? null : state.db.firstOfShape(key) ?? inRound.get(key) ?? null;
    if (first !== null) {
      duplicateOf.set(p.n, first);
      continue;
    }
    if (key !== null) inRound.set(key, `${p.n}`);
    requests.push({
      id: `${p.n}`,
      text: p.proposal.text,
      parent: p.parent?.fittedText
        ? { text: p.parent.text, values: p.parent.constants.map((q) => q.value) }
        : null,
      quickBar: p.island < 0 ? null : quickBar,
    });
  }
  const outcomes = new Map<string, Outcome>();
  (await c.evaluator.evaluate(requests)).forEach((o, i) => outcomes.set(requests[i].id, o));
  const time = elapsed();
  return planned.map((p): HistoryRecord => {
    const base = {
      n: p.n,
      id: `${p.n}`,
      island: p.island,
      parent: p.parent?.id ?? null,
      inspirations: p.inspirations.map((e) => e.id),
      time,
    };
    const empty = {
      score: null,
      quick_score: null,
      complexity: null,
      behaviour: null,
      constants: [],
      fitted_text: null,
      details: {},
      seconds: 0,
    };
    if ("error" in p.proposal) {
      return {
        ...base,
        ...empty,
        proposer: c.proposer.name,
        edit: "",
        stage: "propose",
        text: null,
        message: p.proposal.error,
      };
    }
    const { text, proposer, edit } = p.proposal;
    const dup = duplicateOf.get(p.n);
    if (dup !== undefined) {
      return {
        ...base,
        ...empty,
        proposer,
        edit,
        stage: "duplicate",
        text,
        message: `the same shape as #${dup}`,
      };
    }
    const o = outcomes.get(`${p.n}`)!;
    if (!o.ok) {
      return {
        ...base,
        ...empty,
        proposer,
        edit,
        text,
        stage: o.stage,
        message: o.message,
        complexity: o.complexity,
        seconds: o.seconds,
      };
    }
    return {
      ...base,
      proposer,
      edit,
      text,
      stage: "accepted",
      score: o.score,
      quick_score: o.quickScore,
      complexity: o.complexity,
      behaviour: o.behaviour,
      constants: o.constants,
      fitted_text: o.fittedText,
      message: null,
      details: o.details,
      seconds: o.seconds,
    };
  });
}

/** The budget and the hooks of `runRounds`. */
export interface RoundsOptions {
  /** Records in all (the search stops when `state.count` reaches it). */
  readonly budget: number;
  /** Wall-clock minutes of the search, by `elapsed` (none: no time budget). */
  readonly minutes?: number;
  /** Seconds since the search began (over every run of it). */
  readonly elapsed: () => number;
  /**
   * Called with each round's records before they are applied (history.jsonl: so a checkpoint of
   * the applied state, written at any moment, never counts a record the history lacks).
   */
  readonly beforeApply?: (records: readonly HistoryRecord[]) => Promise<void> | void;
  /** Called after each round, its records applied (checkpoints, progress). */
  readonly afterRound?: (records: readonly HistoryRecord[]) => Promise<void> | void;
}

/**
 * Runs rounds of `c.width` proposals until the budget (records or minutes) is spent, applying
 * each round's records in history order: the loop of `deno task search` and of the server's
 * search jobs.
 */
export async function runRounds(state: SearchState, c: LoopContext, o: RoundsOptions): Promise<void> {
  while (state.count < o.budget && (o.minutes === undefined || o.elapsed() < o.minutes * 60)) {
    const records = await round(state, c, Math.min(c.width, o.budget - state.count), o.elapsed);
    await o.beforeApply?.(records);
    for (const r of records) state.apply(r);
    await o.afterRound?.(records);
  }
}
