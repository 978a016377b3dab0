/**
 * Every npm dependency, pinned here once with a full `npm:` specifier, so that code
 * reachable from mod.ts resolves the same when imported by URL (no import map).
 * Nothing else belongs here: no configuration, no side effects beyond the imports. tfjs is pinned
 * in deps_tfjs.ts instead, so that code that never computes on tfjs (an `f64` fit, a search, the
 * server's routes) never pays for loading it.
 */
/**
 * Loads vega and vega-lite on demand (lib/fit/plot.ts renders the fit plot with them,
 * headless, to SVG), so that code that never draws a plot never pays for loading them.
 */
export async function loadVega(): Promise<{
  vega: typeof import("npm:vega@6.4.0");
  vegaLite: typeof import("npm:vega-lite@6.5.0");
}> {
  // Full specifiers, as above.
  // deno-lint-ignore no-import-prefix
  const [vega, vegaLite] = await Promise.all([import("npm:vega@6.4.0"), import("npm:vega-lite@6.5.0")]);
  return { vega, vegaLite };
}

/** zod 4: validates model specs (lib/fit/spec.ts) and generates their JSON Schema. */
export { z } from "npm:zod@4.6.7";

/** csv-parse's synchronous parser and its error type, for data tables (lib/fit/data.ts). */
export { CsvError, parse as parseCsv } from "npm:csv-parse@7.0.3/sync";

/** p-limit: bounded concurrency (the `llm` proposer's requests in flight). */
export { default as pLimit } from "npm:p-limit@7.3.3";

/** The official OpenAI client's type (the `llm` proposer speaks to any OpenAI-compatible endpoint). */
export type { default as OpenAI } from "npm:openai@7.55.0";

/**
 * Loads the official OpenAI client on demand, so that searches with the offline proposer never
 * pay for loading it.
 */
export function loadOpenAI(): Promise<typeof import("npm:openai@7.55.0")> {
  // A full specifier, as above.
  // deno-lint-ignore no-import-prefix
  return import("npm:openai@7.55.0");
}

/** ml-matrix: the symmetric eigendecomposition CMA-ES needs (lib/fit/optim/cma_es.ts). */
export { EigenvalueDecomposition, Matrix } from "npm:ml-matrix@6.15.1";
