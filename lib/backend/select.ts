/**
 * Backends by name, loaded on demand so that a run on `f64` never loads tfjs.
 * Names: `tfjs` (tfjs-core on the cpu backend, the default), `tfjs-wasm`, `f64`.
 */
import { DmciError } from "../errors.ts";
import type { Backend } from "./backend.ts";

/** The backend names the CLI and specs accept. */
export const BACKEND_NAMES = ["tfjs", "tfjs-wasm", "f64"] as const;
/** A backend name. */
export type BackendName = (typeof BACKEND_NAMES)[number];
/** The default backend. */
export const DEFAULT_BACKEND: BackendName = "tfjs";

/** Options of `backendByName`: with any given, a fresh backend is made instead of the shared one. */
export interface BackendOptions {
  /** The most elements any tensor may have; more is a `limit` error. */
  readonly maxTensorSize?: number;
}

/**
 * The backend with this name.
 *
 * @example
 * ```ts
 * const b = await backendByName("f64");
 * b.name; // "f64"
 * ```
 */
export async function backendByName(name: string, options?: BackendOptions): Promise<Backend> {
  switch (name) {
    case "tfjs":
      return options
        ? (await import("./tfjs/mod.ts")).createTfjsCpuBackend(options)
        : (await import("./tfjs/mod.ts")).tfjsBackend;
    case "tfjs-wasm":
      return await (await import("./tfjs/mod.ts")).createTfjsBackend({ ...options, engine: "wasm" });
    case "f64":
      return options
        ? (await import("./f64/mod.ts")).createF64Backend(options)
        : (await import("./f64/mod.ts")).f64Backend;
    default:
      throw new DmciError("spec", `unknown backend '${name}': expected one of ${BACKEND_NAMES.join(", ")}`);
  }
}
