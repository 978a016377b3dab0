/**
 * The pool of search workers (worker.ts): each a Web Worker with no permissions, given the
 * task's material once. A candidate gets a wall-time limit; a worker over it is terminated and
 * replaced (a candidate is never trusted to return), and one that dies is replaced too. Fuel and
 * tensor size are limited inside the worker (the task's limits). Results come back in request
 * order, whatever order they finish in.
 */
import type { TaskMaterial } from "./tasks/mod.ts";
import type { EvalRequest, Outcome } from "./cascade.ts";
import type { ToWorker } from "./worker.ts";

/** Evaluates candidates: the pool, or (tests) anything with the same shape. */
export interface Evaluator {
  evaluate(requests: readonly EvalRequest[]): Promise<Outcome[]>;
  close(): void;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
}

/**
 * A pool of `size` workers for `material`, each candidate limited to `seconds` of wall time.
 *
 * @example
 * ```ts
 * const pool = workerPool(material, 2, 60);
 * const [out] = await pool.evaluate([{ id: "1", text: "(* 1.0 t)", parent: null, quickBar: null }]);
 * pool.close();
 * ```
 */
export function workerPool(material: TaskMaterial, size: number, seconds: number): Evaluator {
  const spawn = (): Slot => {
    const worker = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
      deno: { permissions: "none" },
    } as WorkerOptions);
    const ready = new Promise<void>((resolve, reject) => {
      worker.onmessage = (e) => e.data?.type === "ready" ? resolve() : undefined;
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`a search worker failed to start: ${e.message}`));
      };
    });
    worker.postMessage({ type: "init", material } satisfies ToWorker);
    return { worker, ready };
  };
  const slots: Slot[] = Array.from({ length: Math.max(1, size) }, spawn);
  const idle: number[] = slots.map((_, i) => i);
  const waiting: ((i: number) => void)[] = [];
  const acquire = (): Promise<number> =>
    idle.length ? Promise.resolve(idle.shift()!) : new Promise((resolve) => waiting.push(resolve));
  const release = (i: number) => {
    const next = waiting.shift();
    if (next) next(i);
    else idle.push(i);
  };

  const run = async (r: EvalRequest): Promise<Outcome> => {
    const i = await acquire();
    const slot = slots[i];
    await slot.ready;
    const t0 = performance.now();
    const outcome = await new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => {
        slot.worker.terminate();
        slots[i] = spawn();
        resolve({
          ok: false,
          stage: "timeout",
          message: `the evaluation ran over its ${seconds} s wall time; its worker was terminated`,
          complexity: null,
          seconds: (performance.now() - t0) / 1000,
        });
      }, seconds * 1000);
      slot.worker.onmessage = (e) => {
        if (e.data?.type !== "done" || e.data.id !== r.id) return;
        clearTimeout(timer);
        resolve(e.data.outcome as Outcome);
      };
      slot.worker.onerror = (e) => {
        e.preventDefault();
        clearTimeout(timer);
        slot.worker.terminate();
        slots[i] = spawn();
        resolve({
          ok: false,
          stage: "crash",
          message: `the worker died: ${e.message}`,
          complexity: null,
          seconds: (performance.now() - t0) / 1000,
        });
      };
      slot.worker.postMessage({ type: "eval", request: r } satisfies ToWorker);
    });
    release(i);
    return outcome;
  };

  return {
    evaluate: (requests) => Promise.all(requests.map(run)),
    close: () => slots.forEach((s) => s.worker.terminate()),
  };
}
