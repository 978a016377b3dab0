/**
 * The `search` command: parse the flags, run (or resume) the search, print the best program and
 * the Pareto front (or, with --json, one JSON document). Progress goes to stderr.
 */
import { parseArgs } from "node:util";
import { DmciError } from "../errors.ts";
import { positiveFlag } from "../cli_flags.ts";
import { loadSearchSpec } from "./spec.ts";
import { runSearch } from "./search.ts";
import { scoreName, searchDocument } from "./outputs.ts";
import { LLM_ENV, PROPOSER_NAMES } from "./proposers/mod.ts";
import type { LlmOptions } from "./proposers/llm.ts";

/** Usage of the search command. */
export const SEARCH_USAGE = `usage: deno task search SPEC.json [--proposer ${
  PROPOSER_NAMES.join("|")
}] [--minutes M]
                        [--evaluations N] [--workers N] [--seed S] [--out DIR] [--resume DIR]
                        [--data DIR] [--json]
                        [--llm-base-url URL] [--llm-model M] [--llm-key K] [--llm-temperature T]
                        [--llm-timeout S] [--llm-retries N] [--llm-concurrency N]

Program-and-parameter co-search on a search spec (a fit spec plus a "search" block). Writes
DIR/best.scm, best.json, pareto.json, history.jsonl, checkpoint.json and SVG plots (DIR defaults
to out/search-NAME). --resume DIR continues a search in DIR. --data DIR: a battery search's cells.

--proposer llm asks any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM,
llama.cpp's server). Each --llm-* flag overrides its environment variable:
  --llm-base-url URL   ${LLM_ENV.baseURL}   e.g. http://127.0.0.1:11434/v1 (default: OpenAI's)
  --llm-model M        ${LLM_ENV.model}       required, e.g. gpt-4o-mini, qwen2.5-coder
  --llm-key K          ${LLM_ENV.apiKey} (else ${LLM_ENV.apiKeyFallback}); a local server ignores it
  --llm-temperature T  ${LLM_ENV.temperature} (default 0.7)
  --llm-timeout S      seconds for one attempt, reading the whole reply included (default 120)
  --llm-retries N      retries after a 429, 5xx, timeout or broken connection (default 4)
  --llm-concurrency N  requests in flight at once (default 2)
Every attempt is appended to DIR/llm_calls.jsonl with its tokens; --json adds "tokens" (summed).`;

/** The --llm-* flags, with their option names. */
const LLM_FLAGS = {
  "llm-base-url": "baseURL",
  "llm-model": "model",
  "llm-key": "apiKey",
  "llm-temperature": "temperature",
  "llm-timeout": "timeoutMs",
  "llm-retries": "retries",
  "llm-concurrency": "concurrency",
} as const;

/** The llm proposer's options from the --llm-* flags (unset flags left out, so env fills them). */
export function llmOptionsFromFlags(values: Record<string, unknown>): LlmOptions {
  const out: Record<string, string | number> = {};
  for (const [flag, key] of Object.entries(LLM_FLAGS)) {
    const v = values[flag] as string | undefined;
    if (v === undefined) continue;
    if (key === "baseURL" || key === "model" || key === "apiKey") {
      if (v === "") throw new DmciError("spec", `--${flag}: expected a value`);
      out[key] = v;
    } else if (key === "temperature") {
      const t = Number(v);
      if (v.trim() === "" || !Number.isFinite(t) || t < 0) {
        throw new DmciError("spec", `--${flag}: expected a number >= 0, got '${v}'`);
      }
      out[key] = t;
    } else if (key === "timeoutMs") out[key] = positiveFlag(flag, v, false)! * 1000;
    else if (key === "retries") {
      if (!/^\d+$/.test(v)) throw new DmciError("spec", `--${flag}: expected an integer >= 0, got '${v}'`);
      out[key] = Number(v);
    } else out[key] = positiveFlag(flag, v)!;
  }
  return out as LlmOptions;
}

/** Runs `search` with CLI arguments; returns the exit code. */
export async function searchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      proposer: { type: "string", default: "mutate" },
      minutes: { type: "string" },
      evaluations: { type: "string" },
      workers: { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
      resume: { type: "string" },
      data: { type: "string" },
      json: { type: "boolean", default: false },
      ...Object.fromEntries(Object.keys(LLM_FLAGS).map((f) => [f, { type: "string" as const }])),
    },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new DmciError("spec", "search: expected one SPEC.json");
  if (values.seed !== undefined && !/^\d+$/.test(values.seed)) {
    throw new DmciError("spec", `--seed: expected an integer >= 0, got '${values.seed}'`);
  }
  const llm = llmOptionsFromFlags(values);
  if (Object.keys(llm).length > 0 && values.proposer !== "llm") {
    const flag = Object.keys(LLM_FLAGS).find((f) => values[f as keyof typeof values] !== undefined);
    throw new DmciError("spec", `--${flag}: the --llm-* flags go with --proposer llm`);
  }
  const loaded = await loadSearchSpec(positionals[0]);
  const out = values.resume ?? values.out ?? `out/search-${loaded.spec.name}`;
  const tty = Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  let last = 0;
  const r = await runSearch(loaded, {
    out,
    resume: values.resume !== undefined,
    proposer: values.proposer,
    proposerOptions: { llm },
    evaluations: positiveFlag("evaluations", values.evaluations),
    minutes: positiveFlag("minutes", values.minutes, false),
    workers: positiveFlag("workers", values.workers),
    seed: values.seed === undefined ? undefined : Number(values.seed),
    data: values.data,
    onProgress: (line, final) => {
      const now = performance.now();
      if (tty) Deno.stderr.writeSync(enc.encode(`\r${line}   `));
      else if (final || now - last > 10_000) {
        last = now;
        Deno.stderr.writeSync(enc.encode(line + "\n"));
      }
    },
  });
  if (tty) Deno.stderr.writeSync(enc.encode("\n"));
  const best = r.state.db.best();
  const pareto = r.state.db.pareto();
  if (values.json) {
    console.log(JSON.stringify({ ...searchDocument(r.state, r.seconds, r.test, r.tokens), out }));
    return 0;
  }
  const lines = [
    `${loaded.spec.name}: ${r.state.count} evaluations in ${r.seconds.toFixed(1)} s; rejected ${
      JSON.stringify(r.state.rejected)
    }`,
  ];
  if (best) {
    lines.push(`best (#${best.id}): ${scoreName(loaded)} ${best.score}, complexity ${best.complexity}`);
    if (r.test) lines.push(`test rows (${r.test.rows}, never seen by the search): NMSE ${r.test.nmse}`);
    lines.push(best.fittedText!.trimEnd());
    lines.push("Pareto front (complexity: score):");
    for (const e of pareto) lines.push(`  ${e.complexity}: ${e.score}  #${e.id}`);
  } else lines.push("no candidate was accepted");
  if (r.tokens) {
    lines.push(
      `llm: ${r.tokens.calls} replies, ${r.tokens.promptTokens} prompt + ${r.tokens.completionTokens} completion tokens`,
    );
  }
  lines.push(...r.files.map((f) => `wrote ${f}`));
  console.log(lines.join("\n"));
  return 0;
}
