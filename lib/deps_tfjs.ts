/**
 * The tfjs npm dependencies, pinned here once with full `npm:` specifiers (see deps.ts), apart
 * from deps.ts so that only code that computes on tfjs loads them: lib/backend/select.ts imports
 * the tfjs backend on demand.
 */
export * as tf from "npm:@tensorflow/tfjs-core@4.22.0";

/**
 * The tfjs `cpu` kernels. Importing this module registers the `cpu` backend with
 * tfjs-core (a side effect); the namespace itself is rarely needed.
 */
export * as tfjsCpu from "npm:@tensorflow/tfjs-backend-cpu@4.22.0";

/**
 * Loads the tfjs `wasm` kernels on demand (registering the `wasm` backend), so that
 * programs that stay on `cpu` never pay for loading them.
 */
export function loadTfjsWasm(): Promise<unknown> {
  // A full specifier on purpose (see the module comment), so the lint rule that wants
  // bare specifiers from an import map does not apply here.
  // deno-lint-ignore no-import-prefix
  return import("npm:@tensorflow/tfjs-backend-wasm@4.22.0");
}
