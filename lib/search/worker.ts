/**
 * A search worker: a Web Worker (started with no permissions) that makes the task from the
 * material it is sent, then evaluates one candidate per message through the cascade. It reads
 * nothing and writes nothing; a candidate that never returns is the pool's to stop.
 */
/// <reference lib="deno.worker" />
import { makeTask, type Task, type TaskMaterial } from "./tasks/mod.ts";
import { type EvalRequest, evaluateCandidate } from "./cascade.ts";

/** Messages to a worker. */
export type ToWorker = { readonly type: "init"; readonly material: TaskMaterial } | {
  readonly type: "eval";
  readonly request: EvalRequest;
};

let task: Task | null = null;

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.type === "init") {
    task = await makeTask(m.material);
    self.postMessage({ type: "ready" });
    return;
  }
  self.postMessage({ type: "done", id: m.request.id, outcome: evaluateCandidate(task!, m.request) });
};
