/**
 * A job's worker: runs one fit, search (lib/server/search_job.ts) or evaluation in a Web Worker the runner starts with no
 * permissions at all, and reports progress (at most every 100 ms), then the result or the error.
 * The request carries everything (program text, inline data), so nothing here reads a file.
 */
/// <reference lib="deno.worker" />
import { DmciError, formatSpan } from "../errors.ts";
import { type FitProgress, fitSpec } from "../fit/fit.ts";
import { loadProgram, valueAndGrad } from "../program.ts";
import { interpretedValueAndGrad } from "../dmci.ts";
import { backendByName } from "../backend/select.ts";
import type { FitErrorRecord } from "./store.ts";
import type { EvalRequest, EvalResult, JobMessage, WorkerReport } from "./job_messages.ts";
import { runSearchJob } from "./search_job.ts";
import type { Evaluator } from "../search/pool.ts";
import type { Outcome } from "../search/cascade.ts";

const report = (r: WorkerReport) => self.postMessage(r);

/** A failure as the API reports it; anything but a DmciError is an internal error, stack withheld. */
export function errorRecord(e: unknown): FitErrorRecord {
  if (e instanceof DmciError) {
    return { kind: e.kind, message: e.message, place: e.span ? formatSpan(e.span) : null };
  }
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    return { kind: "limit", message: "the host stack overflowed (recursion too deep)", place: null };
  }
  return { kind: "internal", message: e instanceof Error ? e.message : String(e), place: null };
}

function progressReport(p: FitProgress): WorkerReport {
  return { type: "progress", progress: { ...p, loss: Number.isFinite(p.loss) ? p.loss : null } };
}

async function runFit(m: Extract<JobMessage, { kind: "fit" }>): Promise<void> {
  const { loaded, limits } = m.request;
  let last = 0;
  let latest: FitProgress | undefined;
  const result = await fitSpec(loaded, {
    limits: { fuel: limits.fuel },
    maxTensorSize: limits.maxTensorSize,
    onProgress: (p) => {
      latest = p;
      const now = performance.now();
      if (now - last < 100) return;
      last = now;
      report(progressReport(p));
    },
  });
  if (latest) report(progressReport(latest));
  const { svg, ...json } = result;
  report({ type: "done", result: { ...json, files: [] }, svg });
}

/** Outcomes the runner owes this worker's search, by batch. */
const owed = new Map<number, (outcomes: Outcome[]) => void>();
let batches = 0;

/** The search's evaluator: candidates go to the runner's pool by message, outcomes come back. */
const viaRunner: Evaluator = {
  evaluate(requests) {
    const batch = ++batches;
    return new Promise((resolve) => {
      owed.set(batch, resolve);
      report({ type: "evaluate", batch, requests: [...requests] });
    });
  },
  close() {
    owed.clear();
  },
};

async function runSearch(m: Extract<JobMessage, { kind: "search" }>): Promise<void> {
  let last = 0;
  const result = await runSearchJob(m.request, viaRunner, (p) => {
    const now = performance.now();
    if (now - last < 100 && p.evaluations < p.budget) return;
    last = now;
    report({ type: "progress", progress: p });
  }, m.llm);
  report({ type: "done", result, svg: null });
}

async function runEval(r: EvalRequest): Promise<EvalResult> {
  const backend = await backendByName(r.backend, { maxTensorSize: r.maxTensorSize });
  const prog = loadProgram(r.program, "request#program");
  if (r.theta && r.theta.length !== prog.params.length) {
    throw new DmciError(
      "spec",
      `$.theta: expected ${prog.params.length} value(s), one per parameter, got ${r.theta.length}`,
    );
  }
  const options = {
    theta: r.theta,
    limits: { fuel: r.fuel },
    inputs: r.inputs as Record<string, number | number[]> | undefined,
  };
  const vg = r.mode === "direct"
    ? valueAndGrad(prog, backend, options)
    : interpretedValueAndGrad(prog, backend, options);
  return {
    value: vg.value,
    gradient: vg.grad.map((g) =>
      typeof g === "number" ? g : { shape: [...g.shape], data: Array.from(g.data) }
    ),
    params: prog.params.map((p) => p.name),
  };
}

self.onmessage = async (e: MessageEvent<JobMessage>) => {
  if (e.data.kind === "outcomes") {
    const resolve = owed.get(e.data.batch);
    owed.delete(e.data.batch);
    resolve?.(e.data.outcomes);
    return;
  }
  try {
    if (e.data.kind === "fit") await runFit(e.data);
    else if (e.data.kind === "search") await runSearch(e.data);
    else report({ type: "evaluated", result: await runEval(e.data.request) });
  } catch (err) {
    report({ type: "error", error: errorRecord(err) });
  }
};
