/**
 * The job runner: a bounded queue of fits in front of a bounded number of Web Workers, each
 * started with no permissions (no file, network, env or run access), running one job at a time,
 * and terminated at its job's wall-time limit or on cancel (a worker whose job ended normally is
 * kept for the next job, which saves loading the library again). Fuel and tensor-size limits travel with the job
 * (lib/server/worker.ts applies them). Every state change goes to the store first, then to the
 * job's listeners (the SSE streams).
 */
import { type FitErrorRecord, type FitRecord, type FitStore, type JobRequest, kindOf } from "./store.ts";
import type { LlmOptions } from "../search/proposers/llm.ts";
import { type Evaluator, workerPool } from "../search/pool.ts";
import {
  type EvalRequest,
  type EvalResult,
  type JobMessage,
  SEARCH_JOB_WORKERS,
  type WorkerReport,
} from "./job_messages.ts";

/** How the runner is bounded. */
export interface RunnerOptions {
  /** Jobs running at once. */
  readonly workers: number;
  /** Jobs waiting at most; more is refused (429). */
  readonly queue: number;
  /** Wall-time limit of POST /v1/eval, in seconds. */
  readonly evalSeconds: number;
  /** The LLM endpoint of `llm` search jobs (their worker may reach its host, and nothing else). */
  readonly llm?: LlmOptions;
}

/** The queue (or the evaluation slots) is full: try again after `retryAfter` seconds. */
export class QueueFull extends Error {
  constructor(readonly retryAfter: number) {
    super(`the queue is full; retry after ${retryAfter} s`);
  }
}

/** An evaluation that failed (its error as the API reports it). */
export class EvalFailed extends Error {
  constructor(readonly error: FitErrorRecord) {
    super(error.message);
  }
}

const WORKER_URL = new URL("./worker.ts", import.meta.url);

/**
 * Starts a worker with no permissions (needs `--unstable-worker-options`), or with the network of
 * `netHost` only (an `llm` search job's endpoint).
 */
function sandboxedWorker(netHost?: string): Worker {
  const permissions = netHost === undefined ? "none" : {
    net: [netHost],
    read: false,
    write: false,
    env: false,
    run: false,
    ffi: false,
    sys: false,
    import: false,
  };
  return new Worker(WORKER_URL, { type: "module", deno: { permissions } } as WorkerOptions);
}

/** `host:port` of a URL (the network an `llm` search job's worker may reach). */
export function netHostOf(url: string): string {
  const u = new URL(url);
  return u.port ? `${u.hostname}:${u.port}` : u.hostname;
}

function limitError(seconds: number, what: string): FitErrorRecord {
  return {
    kind: "limit",
    message: `the ${what} ran longer than its wall-time limit of ${seconds} s`,
    place: null,
  };
}

interface Running {
  readonly worker: Worker;
  /** A worker given network access is never kept for another job. */
  readonly reusable?: boolean;
  /** A search job's pool of candidate workers (closed with the job). */
  readonly pool?: Evaluator;
  readonly timer: ReturnType<typeof setTimeout> | undefined;
  readonly started: number;
}

/** The job runner; see the module comment. */
export class Runner {
  private readonly pending: string[] = [];
  private readonly running = new Map<string, Running>();
  /** Workers whose last job ended normally, kept for the next job (their modules are loaded). */
  private readonly idle: Worker[] = [];
  private readonly listeners = new Map<string, Set<() => void>>();
  private evaluating = 0;
  /** Mean wall time of recent jobs, seconds (for Retry-After). */
  private meanSeconds = 1;
  private closed = false;

  constructor(private readonly store: FitStore, private readonly options: RunnerOptions) {}

  /** Re-queues what a previous process left queued or running, and starts it. */
  async recover(): Promise<number> {
    const ids = await this.store.recover();
    this.pending.push(...ids);
    this.pump();
    return ids.length;
  }

  /** Numbers for GET /health. */
  stats(): { running: number; queued: number; workers: number; queue: number } {
    return {
      running: this.running.size,
      queued: this.pending.length,
      workers: this.options.workers,
      queue: this.options.queue,
    };
  }

  /** Seconds a refused client should wait: the queue's expected drain time, at least 1. */
  retryAfter(): number {
    return Math.max(1, Math.ceil(this.meanSeconds * (this.pending.length + 1) / this.options.workers));
  }

  /** Queues a fit or a search; throws QueueFull when the queue is full. */
  async submit(request: JobRequest): Promise<FitRecord> {
    if (this.pending.length >= this.options.queue) throw new QueueFull(this.retryAfter());
    const record = await this.store.create(crypto.randomUUID(), request);
    this.pending.push(record.id);
    this.pump();
    return record;
  }

  /** Cancels a queued or running fit (terminating its worker); false when it was already final. */
  async cancel(id: string): Promise<boolean> {
    const ok = await this.store.cancel(id);
    if (!ok) return false;
    const at = this.pending.indexOf(id);
    if (at >= 0) this.pending.splice(at, 1);
    this.release(id);
    this.emit(id);
    return true;
  }

  /** Calls `listener` after every change of the job; returns the unsubscribe function. */
  subscribe(id: string, listener: () => void): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, set = new Set());
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  /** Value and gradient of a program in a sandboxed worker, within the evaluation time limit. */
  evaluate(request: EvalRequest): Promise<EvalResult> {
    if (this.evaluating >= this.options.workers) return Promise.reject(new QueueFull(1));
    this.evaluating++;
    const worker = sandboxedWorker();
    const seconds = this.options.evalSeconds;
    return new Promise<EvalResult>((resolve, reject) => {
      const end = () => {
        clearTimeout(timer);
        worker.terminate();
        this.evaluating--;
      };
      const timer = setTimeout(() => {
        end();
        reject(new EvalFailed(limitError(seconds, "evaluation")));
      }, seconds * 1000);
      worker.onmessage = (e: MessageEvent<WorkerReport>) => {
        end();
        if (e.data.type === "evaluated") resolve(e.data.result);
        else if (e.data.type === "error") reject(new EvalFailed(e.data.error));
      };
      worker.onerror = (e) => {
        e.preventDefault();
        end();
        reject(new EvalFailed({ kind: "internal", message: "the evaluation's worker failed", place: null }));
      };
      worker.postMessage({ kind: "eval", request } satisfies JobMessage);
    });
  }

  /** Terminates every worker; their jobs stay `running` in the store and are re-queued on restart. */
  close(): void {
    this.closed = true;
    for (const id of [...this.running.keys()]) this.release(id);
    for (const worker of this.idle.splice(0)) worker.terminate();
  }

  private emit(id: string): void {
    for (const listener of this.listeners.get(id) ?? []) listener();
  }

  /**
   * Frees the job's slot. Its worker is kept for the next job when the job ended normally
   * (`reuse`), and terminated otherwise (cancel, time limit, crash, shutdown).
   */
  private release(id: string, reuse = false): void {
    const r = this.running.get(id);
    if (!r) return;
    clearTimeout(r.timer);
    r.pool?.close();
    if (reuse && r.reusable !== false && !this.closed && this.idle.length < this.options.workers) {
      r.worker.onmessage = r.worker.onerror = null;
      this.idle.push(r.worker);
    } else r.worker.terminate();
    this.running.delete(id);
    const seconds = (performance.now() - r.started) / 1000;
    this.meanSeconds = 0.8 * this.meanSeconds + 0.2 * seconds;
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.options.workers && this.pending.length) {
      const id = this.pending.shift()!;
      this.launch(id).catch((e) =>
        console.error(JSON.stringify({ msg: "job start failed", id, error: String(e) }))
      );
    }
  }

  private async launch(id: string): Promise<void> {
    // A placeholder keeps the slot while the store is asked.
    const slot = { worker: { terminate() {} } as Worker, timer: undefined, started: performance.now() };
    this.running.set(id, slot);
    const request = await this.store.request(id);
    if (!request || !(await this.store.start(id))) {
      this.running.delete(id);
      this.pump();
      return;
    }
    if (this.running.get(id) !== slot) return; // cancelled while the store was asked
    this.emit(id);
    const seconds = request.limits.seconds;
    const kind = kindOf(request);
    const llm = request.kind === "search" && request.proposer === "llm" ? this.options.llm : undefined;
    const worker = llm?.baseURL
      ? sandboxedWorker(netHostOf(llm.baseURL))
      : this.idle.pop() ?? sandboxedWorker();
    const timer = setTimeout(
      () => this.end(id, this.store.fail(id, limitError(seconds, kind))),
      seconds * 1000,
    );
    // A search's candidates are calibrated here, in workers with no permissions, for its worker.
    const pool = request.kind === "search"
      ? workerPool(request.material, SEARCH_JOB_WORKERS, request.loaded.spec.search.seconds)
      : undefined;
    const running: Running = { worker, timer, started: slot.started, reusable: llm === undefined, pool };
    this.running.set(id, running);
    worker.onmessage = (e: MessageEvent<WorkerReport>) => {
      const m = e.data;
      if (m.type === "evaluate" && pool) {
        pool.evaluate(m.requests).then((outcomes) => {
          if (this.running.get(id) === running) {
            worker.postMessage({ kind: "outcomes", batch: m.batch, outcomes } satisfies JobMessage);
          }
        });
      } else if (m.type === "progress") this.store.progress(id, m.progress).then(() => this.emit(id));
      else if (m.type === "done") this.end(id, this.store.finish(id, m.result, m.svg), true);
      else if (m.type === "error") this.end(id, this.store.fail(id, m.error), true);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      this.end(
        id,
        this.store.fail(id, { kind: "internal", message: `the ${kind}'s worker failed`, place: null }),
      );
    };
    worker.postMessage(
      (request.kind === "search"
        ? { kind: "search", request, ...(llm ? { llm } : {}) }
        : { kind: "fit", request }) satisfies JobMessage,
    );
  }

  /** Frees the job's slot, and tells the listeners once `stored` (its final state) is written. */
  private end(id: string, stored: Promise<void>, reuse = false): void {
    this.release(id, reuse);
    stored.then(() => this.emit(id));
  }
}
