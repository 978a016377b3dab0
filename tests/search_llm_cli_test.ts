/**
 * End to end: `cli.ts search SPEC --proposer llm --llm-base-url …` as a subprocess against a local
 * OpenAI-compatible server (tests/helpers/llm_server.ts, Hono on 127.0.0.1) that answers with
 * scripted replies: rewrites, a malformed program, a diff that does not apply, HTTP 429 and 500.
 * Checks the --json document, history.jsonl (each error recorded at its stage with the reader's
 * line:col), llm_calls.jsonl (the retries), the token totals, and that the --llm-* flags override
 * the DMCI_LLM_* environment.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fencedReply, reply, startServer, type Step } from "./helpers/llm_server.ts";
import type { HistoryRecord } from "../lib/search/controller.ts";
import type { ProposerCall } from "../lib/search/types.ts";
import { lineSearchSpec } from "./helpers/line_search.ts";

const ROOT = new URL("../", import.meta.url).pathname;

const SPEC = lineSearchSpec("line-llm", 24, { restarts: 1, steps: 40 });

const lines = <T>(text: string): T[] => text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));

Deno.test("search CLI --proposer llm: errors recorded, 429/500 retried, tokens summed, flags over env", async () => {
  const script: Step[] = [
    /* n=2 */ reply(fencedReply("(* 3.0 (+ 0.5 x))\n"), 500, 11),
    /* n=3 */ reply(fencedReply("(+ 1.0 (* 2.0 x)))\n"), 510, 12), // extra ')' at 1:18
    /* n=4 */ reply("<<<<<<< SEARCH\n(* q x)\n=======\n(* 2.0 x)\n>>>>>>> REPLACE\n", 520, 13),
    /* n=5 */ { kind: "status", status: 429, headers: { "retry-after-ms": "20" } },
    reply(fencedReply("(+ 2.0 (* 0.75 x) (* 0.01 (exp (* -1.0 x))))\n"), 530, 14),
    /* n=6 */ { kind: "status", status: 500 },
    reply(fencedReply("(+ (* 0.7 x) 2.1 (* 0.01 x x))\n"), 540, 15),
    /* n=7 */ reply(fencedReply("(* 2.0 (exp (* 0.1 x)))\n"), 550, 16),
  ];
  const delivered = script.flatMap((s) => (s.kind === "reply" ? [s] : []));
  const steps = script.length; // the server consumes the script
  const server = startServer(script);
  const dir = await Deno.makeTempDir({ prefix: "dmci-search-llm-cli-" });
  const specPath = join(dir, "spec.json");
  const out = join(dir, "out");
  await Deno.writeTextFile(specPath, JSON.stringify(SPEC));
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--stack-size=4000",
        "cli.ts",
        "search",
        specPath,
        "--proposer",
        "llm",
        "--llm-base-url",
        server.baseURL,
        "--llm-model",
        "scripted",
        "--llm-temperature",
        "0.1",
        "--llm-retries",
        "2",
        "--llm-timeout",
        "20",
        "--workers",
        "1",
        "--evaluations",
        "7",
        "--out",
        out,
        "--json",
      ],
      cwd: ROOT,
      // the environment names another endpoint, model and temperature: the flags win
      env: {
        DMCI_LLM_BASE_URL: "http://127.0.0.1:9/v1",
        DMCI_LLM_MODEL: "from-env",
        DMCI_LLM_TEMPERATURE: "0.9",
      },
      stdout: "piped",
      stderr: "piped",
    });
    const r = await child.output();
    const stderr = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, stderr);
    const doc = JSON.parse(new TextDecoder().decode(r.stdout));

    // the flags, not the environment
    assert.equal(server.requests.length, steps, "one request per scripted step");
    assert.ok(server.requests.every((q) => q.model === "scripted"));
    assert.ok(server.requests.every((q) => (q as unknown as { temperature: number }).temperature === 0.1));

    // the JSON document
    assert.equal(doc.evaluations, 7);
    assert.deepEqual(doc.tokens, {
      calls: delivered.length,
      promptTokens: delivered.reduce((s, d) => s + d.promptTokens, 0),
      completionTokens: delivered.reduce((s, d) => s + d.completionTokens, 0),
    });
    assert.deepEqual(doc.tokens, { calls: 6, promptTokens: 3150, completionTokens: 81 });
    assert.deepEqual(doc.rejected, { propose: 2 });
    assert.ok(doc.best.score < 1e-2, `best validation NMSE ${doc.best.score}`);

    // history.jsonl: every candidate, errors at their stage with the reader's place
    const history = lines<HistoryRecord>(await Deno.readTextFile(join(out, "history.jsonl")));
    assert.deepEqual(history.map((h) => h.n), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(
      history.map((h) => [h.proposer, h.stage]),
      [
        ["seed", "accepted"],
        ["llm", "accepted"],
        ["llm", "propose"],
        ["llm", "propose"],
        ["llm", "accepted"],
        ["llm", "accepted"],
        ["llm", "accepted"],
      ],
    );
    assert.match(history[2].message!, /^candidate\.scm:1:18: unexpected '\)'/);
    assert.match(history[3].message!, /^reply:1:1: SEARCH\/REPLACE block 1 does not apply/);
    assert.equal(history[1].text, "(* 3.0 (+ 0.5 x))\n");
    // the errors went back into the next prompts
    assert.ok(server.requests[3].messages[1].content.includes("candidate.scm:1:18"));
    assert.ok(server.requests[4].messages[1].content.includes("block 1 does not apply"));

    // llm_calls.jsonl: every attempt, the 429 and the 500 retried
    const calls = lines<ProposerCall>(await Deno.readTextFile(join(out, "llm_calls.jsonl")));
    assert.deepEqual(
      calls.map((c) => [c.outcome, c.status, c.attempt]),
      [
        ["ok", 200, 1],
        ["ok", 200, 1],
        ["ok", 200, 1],
        ["http", 429, 1],
        ["ok", 200, 2],
        ["http", 500, 1],
        ["ok", 200, 2],
        ["ok", 200, 1],
      ],
    );
    assert.equal(calls[3].retryAfterMs, 20, "the server's retry-after-ms is honoured");
    assert.ok(calls[5].retryAfterMs! >= 500 && calls[5].retryAfterMs! <= 1000, "exponential backoff");
    assert.deepEqual(
      calls.filter((c) => c.outcome === "ok").map((c) => [c.promptTokens, c.completionTokens]),
      delivered.map((d) => [d.promptTokens, d.completionTokens]),
    );
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("search CLI: --llm-* flags are checked, and go with --proposer llm only", async () => {
  const run = async (...args: string[]) => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "cli.ts", "search", "fixtures/specs/pendulum-search.json", ...args],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
  };
  const hot = await run("--proposer", "llm", "--llm-model", "m", "--llm-temperature", "hot");
  assert.notEqual(hot.code, 0);
  assert.match(hot.stderr, /--llm-temperature: expected a number >= 0, got 'hot'/);
  const mutate = await run("--llm-model", "m");
  assert.notEqual(mutate.code, 0);
  assert.match(mutate.stderr, /--llm-model: the --llm-\* flags go with --proposer llm/);
});

Deno.test("search --help documents the --llm-* flags and the variables they override", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli.ts", "search", "--help"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  for (
    const word of [
      "--llm-base-url URL",
      "--llm-model M",
      "--llm-key K",
      "--llm-temperature T",
      "DMCI_LLM_BASE_URL",
      "DMCI_LLM_MODEL",
      "DMCI_LLM_API_KEY",
      "DMCI_LLM_TEMPERATURE",
      "llm_calls.jsonl",
    ]
  ) assert.ok(text.includes(word), `search --help mentions ${word}`);
});
