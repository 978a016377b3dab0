/**
 * The search tasks behind one interface (task.ts): material is prepared on the main thread from a
 * search spec (I/O, the held-out rows and cells dropped), and a task is made from material where
 * candidates are evaluated (a worker, or the main thread in tests). Wiring only.
 */
import { createF64Backend } from "../../backend/f64/mod.ts";
import type { Backend } from "../../backend/backend.ts";
import { DmciError } from "../../errors.ts";
import type { LoadedSearch } from "../spec.ts";
import { type FitMaterial, fitMaterial, fitTask } from "./fit.ts";
import { type BatteryMaterial, batteryMaterial, batteryTask } from "./battery.ts";
import type { Task } from "./task.ts";

export type { Calibrated, Candidate, Stage, Task } from "./task.ts";
export type { FitMaterial } from "./fit.ts";
export type { BatteryMaterial } from "./battery.ts";

/** What a task is made from: plain, structured-cloneable data. */
export type TaskMaterial = (FitMaterial | BatteryMaterial) & { readonly backend: string };

/**
 * The material of a search spec's task.
 *
 * @example
 * ```ts
 * const material = await taskMaterial(await loadSearchSpec("fixtures/specs/oscillator-search.json"));
 * ```
 */
export async function taskMaterial(s: LoadedSearch, o: { data?: string } = {}): Promise<TaskMaterial> {
  const base = s.spec.search.task === "battery" ? await batteryMaterial(s, o.data) : await fitMaterial(s);
  // A battery search always fits on f64 (as bench battery does by default).
  return { ...base, backend: s.spec.search.task === "battery" ? "f64" : s.spec.backend };
}

/** The backend of a task: f64 with the material's tensor-size limit, or tfjs with it. */
async function backendOf(m: TaskMaterial): Promise<Backend> {
  if (m.backend === "f64") return createF64Backend({ maxTensorSize: m.limits.maxTensor });
  if (m.backend === "tfjs") {
    const { createTfjsCpuBackend } = await import("../../backend/tfjs/mod.ts");
    return createTfjsCpuBackend({ maxTensorSize: m.limits.maxTensor });
  }
  throw new DmciError("spec", `search: backend ${m.backend} is not supported (use "f64" or "tfjs")`);
}

/**
 * Makes the task from its material.
 *
 * @example
 * ```ts
 * const task = await makeTask(material);
 * task.info.inputs; // ["t"]
 * ```
 */
export async function makeTask(m: TaskMaterial): Promise<Task> {
  const B = await backendOf(m);
  return m.kind === "battery" ? batteryTask(m, B) : fitTask(m, B);
}
