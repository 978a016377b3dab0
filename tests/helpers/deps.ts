/**
 * npm dependencies of the tests only (none of lib/ uses them), pinned here once like lib/deps.ts.
 */

/** Hono: the local OpenAI-compatible server of the `llm` proposer's tests. */
export { Hono } from "npm:hono@4.13.19";
