/**
 * Tests of the `llm` proposer (lib/search/proposers/llm*.ts) against a local OpenAI-compatible
 * server (Hono on 127.0.0.1, a random port) that answers with scripted replies: full rewrites,
 * SEARCH/REPLACE diffs, malformed programs, a diff that does not apply, a body that never ends,
 * a body that streams forever, HTTP 429 and 500. A small driver loop proposes repeatedly and
 * feeds each error back through `recentErrors`, as the search's controller does. Also unit tests
 * of the prompt (reference, constants with SE and gradient, deletion candidates) and of reading
 * replies (diff application, fenced blocks).
 */
import assert from "node:assert/strict";
import { fencedReply, reply, startServer, type Step } from "./helpers/llm_server.ts";
import { DmciError } from "../lib/errors.ts";
import { read } from "../lib/read/reader.ts";
import { languageReference } from "../lib/reference.ts";
import { PRIMITIVE_BY_NAME } from "../lib/primitives.ts";
import { type CallRecord, llmOptionsFromEnv, llmProposer, retryAfter } from "../lib/search/proposers/llm.ts";
import { buildPrompt, REQUEST_ERROR_PREFIX } from "../lib/search/proposers/llm_prompt.ts";
import {
  applyDiff,
  diffBlocks,
  programBlock,
  readReply,
  withoutThinking,
} from "../lib/search/proposers/llm_reply.ts";
import { makeProposer, PROPOSER_NAMES } from "../lib/search/proposers/mod.ts";
import { countNodes } from "../lib/search/proposers/tree.ts";
import type { ProposalContext, ScoredProgram, TaskInfo } from "../lib/search/types.ts";

// ---------------------------------------------------------------------------------------------
// fixtures

const TASK: TaskInfo = {
  kind: "fit",
  name: "decay",
  inputs: ["t"],
  goal: "one prediction of y per row of t",
  dataSummary: "40 rows; t in [0, 10]; y in [0.05, 2.1]; y falls like a damped exponential",
  allowedPrimitives: ["+", "-", "*", "/", "exp", "sin"],
  maxComplexity: 60,
};

const PARENT_TEXT = "(define a 2.0)\n(define k 0.3)\n(* a (exp (- (* k t))))\n";

function scored(id: string, text: string, extra: Partial<ScoredProgram> = {}): ScoredProgram {
  return {
    id,
    text,
    fittedText: null,
    score: 0.5,
    complexity: countNodes(read(text, "p.scm")),
    constants: [],
    rejection: null,
    ...extra,
  };
}

const PARENT = scored("7", PARENT_TEXT, {
  score: 0.0123,
  constants: [
    { name: "a", value: 2.0512, se: 0.0134, validationGrad: -0.00213 },
    { name: "k", value: 0.000312, se: 0.0421, validationGrad: 1.7e-5 },
  ],
});

function context(seed: number, recentErrors: ProposalContext["recentErrors"] = []): ProposalContext {
  return {
    task: TASK,
    parent: PARENT,
    inspirations: [
      scored("3", "(* 1.5 (exp (- (* 0.2 t))))\n", { score: 0.0456 }),
      scored("9", "(+ 1.0 (* 0.1 t))\n", {
        score: null,
        rejection: { stage: "quick-fit", message: "limit error: fuel exhausted" },
      }),
    ],
    recentErrors,
    seed,
  };
}

/** Waits (bounded) until `done` holds: the server sees a client's abort a moment after it happens. */
async function eventually(done: () => boolean, ms = 3000): Promise<boolean> {
  const until = Date.now() + ms;
  while (!done() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  return done();
}

// ---------------------------------------------------------------------------------------------
// the proposer against the server

Deno.test("llm proposer: rewrites, diffs, malformed replies, endless bodies, 429/500 — each recorded, the loop goes on", async () => {
  const REWRITE = "(define a 2.0)\n(define w 1.0)\n(* a (exp (- (* 0.3 t))) (sin (* w t)))\n";
  const script: Step[] = [
    /* 0 */ reply(fencedReply(REWRITE), 1000, 40),
    /* 1 */ reply(
      "Drop k, it is not significant.\n<<<<<<< SEARCH\n(* a (exp (- (* k t))))\n=======\n(* a (exp (- (* 0.5 t))))\n>>>>>>> REPLACE\n",
      1100,
      35,
    ),
    /* 2 */ reply(fencedReply("(define a 2.0)\n(* a (exp t)))\n"), 1200, 20), // extra ')' at 2:14
    /* 3 */ reply("<<<<<<< SEARCH\n(* b (exp t))\n=======\n(* b t)\n>>>>>>> REPLACE\n", 1300, 25), // applies nowhere
    /* 4 */ { kind: "hang" }, // timeout, then retried:
    /* 5 */ reply(fencedReply("(* 2.0 (exp (- (* 0.25 t))))\n"), 900, 30),
    /* 6 */ { kind: "status", status: 429, headers: { "retry-after": "7" } },
    /* 7 */ { kind: "status", status: 500 },
    /* 8 */ reply("<<<<<<< SEARCH\n(define k 0.3)\n=======\n(define k 0.4)\n>>>>>>> REPLACE\n", 800, 15),
    /* 9 */ { kind: "stream" }, // timeout ×3: given up
    /* 10 */ { kind: "stream" },
    /* 11 */ { kind: "stream" },
    /* 12 */ reply(fencedReply("(define a 2.0)\n(* a (exp (- (* 0.3 y))))\n"), 700, 22), // y is unbound
    /* 13 */ reply(fencedReply("(define a 2.5)\n(* a (exp (- (* 0.2 t))))\n"), 600, 18),
  ];
  const delivered = script.flatMap((s) => (s.kind === "reply" ? [s] : []));
  const steps = script.length;
  const server = startServer(script);
  const waits: number[] = [];
  const proposer = llmProposer({
    baseURL: server.baseURL,
    model: "scripted",
    timeoutMs: 1500,
    retries: 2,
    backoffMs: 100,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
  });
  try {
    // the driver: propose, record errors, feed them back (as the controller does)
    const outcomes: (string | { edit: string; text: string })[] = [];
    const recent: { text: string; message: string }[] = [];
    const promptIndexAfter: number[] = []; // index of the first request made after proposal i
    for (let i = 0; i < 9; i++) {
      promptIndexAfter.push(server.requests.length);
      const out = await proposer.propose(context(100 + i, recent));
      if ("error" in out) {
        outcomes.push(out.error);
        recent.push({ text: "", message: `propose: ${out.error}` }); // as the search's controller records it
      } else {
        assert.equal(out.proposer, "llm");
        outcomes.push({ edit: out.edit, text: out.text });
      }
    }
    promptIndexAfter.push(server.requests.length);

    // 0: a full rewrite
    assert.deepEqual(outcomes[0], { edit: "llm rewrite", text: REWRITE });
    // 1: a diff applied to the parent as shown
    assert.deepEqual(outcomes[1], {
      edit: "llm diff (1 block)",
      text: "(define a 2.0)\n(define k 0.3)\n(* a (exp (- (* 0.5 t))))\n",
    });
    // 2: the reader's error at its line:col, then fed back into the next prompt
    assert.match(outcomes[2] as string, /^candidate\.scm:2:14: unexpected '\)'/);
    const nextUser = (i: number) => server.requests[promptIndexAfter[i + 1]].messages[1].content;
    assert.ok(nextUser(2).includes("candidate.scm:2:14"), "the next prompt holds the reader's line:col");
    // 3: a diff that does not apply, located at its block in the reply, fed back too
    assert.match(outcomes[3] as string, /^reply:1:1: SEARCH\/REPLACE block 1 does not apply/);
    assert.ok(nextUser(3).includes("reply:1:1: SEARCH/REPLACE block 1 does not apply"));
    assert.ok(nextUser(3).includes("candidate.scm:2:14"), "older errors stay in the prompt");
    // 4: a body that never ends is cut at the deadline and retried; the retry's reply is used
    assert.equal((outcomes[4] as { edit: string }).edit, "llm rewrite");
    // 5: 429 (Retry-After: 7 s honoured), 500 (exponential backoff), then a diff
    assert.deepEqual(outcomes[5], {
      edit: "llm diff (1 block)",
      text: "(define a 2.0)\n(define k 0.4)\n(* a (exp (- (* k t))))\n",
    });
    // 6: a body that streams forever, three times: given up, a request error
    assert.match(
      outcomes[6] as string,
      new RegExp(`^${REQUEST_ERROR_PREFIX}: no complete reply within 1500 ms`),
    );
    assert.match(outcomes[6] as string, /after 3 attempts/);
    assert.ok(!nextUser(6).includes(REQUEST_ERROR_PREFIX), "request errors are not shown to the model");
    // 7: an unbound name, at its line:col
    assert.match(outcomes[7] as string, /^candidate\.scm:2:21: y is unbound/);
    assert.ok(nextUser(7).includes("candidate.scm:2:21"));
    // 8: the loop still goes on
    assert.equal((outcomes[8] as { edit: string }).edit, "llm rewrite");
    assert.equal(server.requests.length, steps, "one request per scripted step, no more");

    // every attempt is in the log, with its outcome
    const log = proposer.calls();
    const outcomesOf = (o: CallRecord["outcome"]) => log.filter((c) => c.outcome === o).length;
    assert.equal(log.length, 14);
    assert.equal(outcomesOf("ok"), delivered.length);
    assert.equal(outcomesOf("timeout"), 4);
    assert.deepEqual(log.filter((c) => c.outcome === "http").map((c) => c.status), [429, 500]);
    // waits: hang→retry (attempt 1), 429 (Retry-After 7 s), 500 (attempt 2), stream ×2 (attempts 1, 2)
    assert.equal(waits.length, 5);
    assert.ok(waits[0] >= 50 && waits[0] <= 100, `first backoff ${waits[0]} in [50, 100]`);
    assert.equal(waits[1], 7000);
    assert.ok(waits[2] >= 100 && waits[2] <= 200, `second backoff ${waits[2]} in [100, 200]`);
    assert.ok(waits[3] >= 50 && waits[3] <= 100 && waits[4] >= 100 && waits[4] <= 200);

    // tokens: per call and summed over the replies delivered
    assert.deepEqual(
      log.filter((c) => c.outcome === "ok").map((c) => [c.promptTokens, c.completionTokens]),
      delivered.map((d) => [d.promptTokens, d.completionTokens]),
    );
    assert.deepEqual(proposer.usage(), {
      calls: delivered.length,
      promptTokens: delivered.reduce((s, d) => s + d.promptTokens, 0),
      completionTokens: delivered.reduce((s, d) => s + d.completionTokens, 0),
    });
    assert.deepEqual(proposer.usage(), { calls: 8, promptTokens: 7600, completionTokens: 205 });

    // the endless bodies were really stopped: the client's abort reached the server
    assert.equal(server.endless.length, 4);
    assert.ok(
      await eventually(() => server.endless.every((e) => e.cancelled)),
      "every endless body cancelled",
    );
  } finally {
    await server.close();
  }
});

Deno.test("llm proposer: at most `concurrency` requests in flight", async () => {
  const program = (i: number) => fencedReply(`(* ${i + 1}.5 (exp (- (* 0.2 t))))\n`);
  const server = startServer(
    Array.from({ length: 6 }, (_, i) => ({ ...reply(program(i), 10, 1), delayMs: 300 })),
  );
  const proposer = llmProposer({ baseURL: server.baseURL, model: "scripted", concurrency: 2 });
  try {
    const outs = await Promise.all(Array.from({ length: 6 }, (_, i) => proposer.propose(context(i))));
    assert.ok(outs.every((o) => !("error" in o)), JSON.stringify(outs));
    assert.equal(server.maxInFlight, 2);
    assert.deepEqual(proposer.usage(), { calls: 6, promptTokens: 60, completionTokens: 6 });
  } finally {
    await server.close();
  }
});

Deno.test("llm proposer: aborting its signal stops a request in flight", async () => {
  const server = startServer([{ kind: "hang" }]);
  const stop = new AbortController();
  const proposer = llmProposer({ baseURL: server.baseURL, model: "scripted", signal: stop.signal });
  try {
    const pending = proposer.propose(context(1));
    assert.ok(await eventually(() => server.requests.length === 1));
    stop.abort();
    const out = await pending;
    assert.ok("error" in out && out.error === `${REQUEST_ERROR_PREFIX}: cancelled`, JSON.stringify(out));
    assert.deepEqual(proposer.calls().map((c) => c.outcome), ["cancelled"]);
    assert.ok(await eventually(() => server.endless[0].cancelled));
  } finally {
    await server.close();
  }
});

Deno.test("llm proposer: options from the environment, registered by name, spec errors", () => {
  const env: Record<string, string> = {
    DMCI_LLM_BASE_URL: "http://127.0.0.1:9/v1",
    DMCI_LLM_MODEL: "m",
    OPENAI_API_KEY: "sk-fallback",
    DMCI_LLM_TEMPERATURE: "0.2",
  };
  assert.deepEqual(llmOptionsFromEnv((n) => env[n]), {
    baseURL: "http://127.0.0.1:9/v1",
    model: "m",
    apiKey: "sk-fallback",
    temperature: 0.2,
  });
  assert.equal(llmOptionsFromEnv((n) => ({ ...env, DMCI_LLM_API_KEY: "sk-own" })[n]).apiKey, "sk-own");
  assert.throws(() =>
    llmOptionsFromEnv((n) => ({ DMCI_LLM_TEMPERATURE: "hot" } as Record<string, string>)[n])
  );
  assert.ok((PROPOSER_NAMES as readonly string[]).includes("llm"));
  assert.equal(makeProposer("llm", { llm: { model: "m", baseURL: "http://127.0.0.1:9/v1" } }).name, "llm");
  assert.throws(() => llmProposer({ baseURL: "http://127.0.0.1:9/v1" }), (e) => e instanceof DmciError);
  assert.throws(() => llmProposer({ model: "m" }), /API key/);
});

Deno.test("retryAfter reads retry-after-ms, seconds and HTTP dates", () => {
  assert.equal(retryAfter(new Headers({ "retry-after-ms": "250" })), 250);
  assert.equal(retryAfter(new Headers({ "retry-after": "3" })), 3000);
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(retryAfter(new Headers({ "retry-after": "Thu, 01 Jan 2026 00:00:05 GMT" }), now), 5000);
  assert.equal(retryAfter(new Headers({})), null);
  assert.equal(retryAfter(undefined), null);
});

// ---------------------------------------------------------------------------------------------
// the prompt

Deno.test("prompt: task, filtered reference, parent with fitted constants, SE, gradient, deletion candidates", () => {
  const p = buildPrompt(context(1, [
    { text: "(* a (exp t)))\n", message: "candidate.scm:1:15: unexpected ')' with no '(' open" },
    { text: "", message: `${REQUEST_ERROR_PREFIX}: HTTP 500: scripted 500` },
    { text: "", message: `propose: ${REQUEST_ERROR_PREFIX}: HTTP 429: slow down` },
  ]));
  const u = p.user;
  // the task
  for (const s of [TASK.goal, TASK.dataSummary, "`t`", "at most 60 datum nodes"]) assert.ok(u.includes(s), s);
  // the reference, generated from the primitive table, only the allowed procedures
  assert.ok(u.includes(languageReference({ only: TASK.allowedPrimitives, level: 3, bare: true }).trimEnd()));
  assert.ok(u.includes(PRIMITIVE_BY_NAME.get("exp")!.signature));
  assert.ok(!u.includes(PRIMITIVE_BY_NAME.get("expt")!.signature), "expt is not allowed here");
  // the parent and its constants: value, SE, gradient; k's ±2 SE includes zero, a's does not
  assert.ok(u.includes(PARENT_TEXT.trimEnd()));
  assert.ok(u.includes("score 0.0123"));
  const row = (name: string) => u.split("\n").find((l) => l.startsWith(`| ${name} |`)) ?? "";
  // a: |grad|·SE = 2.9e-5, k: 7.2e-7; a is where the validation loss is most sensitive
  assert.equal(row("a"), "| a | 2.051 | 0.0134 | -0.00213 | largest gradient × SE |");
  assert.equal(row("k"), "| k | 0.000312 | 0.0421 | 0.000017 | delete? (±2 SE includes 0) |");
  // inspirations with scores and rejections
  assert.ok(u.includes("### #3 (score 0.0456; complexity"));
  assert.ok(u.includes("rejected at quick-fit: limit error: fuel exhausted"));
  // own errors with line:col and the failed text, numbered; request errors left out
  assert.ok(u.includes("1. The error:\n\n```text\ncandidate.scm:1:15: unexpected ')'"));
  assert.ok(u.includes("1 | (* a (exp t)))"));
  assert.ok(
    !u.includes("HTTP 500") && !u.includes("HTTP 429"),
    "request errors are not shown, prefixed or not",
  );
  // the answer format
  assert.ok(u.includes("```scheme") && u.includes("<<<<<<< SEARCH") && u.includes(">>>>>>> REPLACE"));
});

Deno.test("prompt: the parent is shown with its fitted constants when it has them", () => {
  const parent = {
    ...PARENT,
    fittedText: "(define a 2.0512)\n(define k 0.000312)\n(* a (exp (- (* k t))))\n",
  };
  const u = buildPrompt({ ...context(1), parent }).user;
  assert.ok(u.includes("(define a 2.0512)"));
  // and a diff applies to that text
  const out = readReply(
    "<<<<<<< SEARCH\n(define k 0.000312)\n=======\n(define k 0.1)\n>>>>>>> REPLACE",
    parent.fittedText,
    TASK,
  );
  assert.deepEqual(out, {
    text: "(define a 2.0512)\n(define k 0.1)\n(* a (exp (- (* k t))))\n",
    edit: "llm diff (1 block)",
  });
});

// ---------------------------------------------------------------------------------------------
// reading replies

Deno.test("diffs: exact, up to indentation, several in order; not found, ambiguous, unclosed, empty are located", () => {
  const base = "(define (f u)\n  (* 2.0\n     u))\n(f t)\n";
  assert.equal(applyDiff(base, [{ search: "(* 2.0", replace: "(+ 2.0", line: 1 }]), base.replace("(*", "(+"));
  // leading blanks differ: matched line by line
  assert.equal(
    applyDiff(base, [{ search: "(* 2.0\nu))", replace: "  (* 3.0 u))", line: 1 }]),
    "(define (f u)\n  (* 3.0 u))\n(f t)\n",
  );
  // two blocks, the second applying to the result of the first
  const two = diffBlocks(
    "x\n<<<<<<< SEARCH\n(f t)\n=======\n(f (* 0.5 t))\n>>>>>>> REPLACE\ny\n<<<<<<< SEARCH\n(* 0.5 t)\n=======\n(* 0.7 t)\n>>>>>>> REPLACE\n",
  );
  assert.deepEqual(two.map((b) => b.line), [2, 8]);
  assert.equal(applyDiff(base, two), base.replace("(f t)\n", "(f (* 0.7 t))\n"));
  // failures, at the block's line of the reply
  const fails = (f: () => unknown, re: RegExp) =>
    assert.throws(f, (e) => e instanceof DmciError && re.test(e.toString()), String(re));
  fails(
    () => applyDiff(base, [{ search: "(g t)", replace: "", line: 4 }]),
    /at reply:4:1: .*not in the parent/,
  );
  fails(() => applyDiff(base, [{ search: "u", replace: "v", line: 2 }]), /at reply:2:1: .*occurs \d+ times/);
  fails(() => applyDiff(base, [{ search: " \n", replace: "u", line: 3 }]), /at reply:3:1: .*empty SEARCH/);
  fails(() => diffBlocks("a\n<<<<<<< SEARCH\n(f t)\n=======\n(f u)\n"), /at reply:2:1: .*not closed/);
  fails(() => diffBlocks("<<<<<<< SEARCH\n(f t)\n"), /at reply:1:1: .*no =======/);
});

Deno.test("rewrites: the last scheme block, else an untagged one, else a bare program; an unclosed block is located", () => {
  assert.equal(programBlock("```scheme\n(old)\n```\ntext\n```scheme\n(new t)\n```"), "(new t)\n");
  assert.equal(programBlock("```\n(plain t)\n```"), "(plain t)\n");
  assert.equal(programBlock("```python\nprint(1)\n```\n```lisp\n(l t)\n```"), "(l t)\n");
  assert.equal(programBlock("  (* 2.0 t)\n"), "(* 2.0 t)\n");
  assert.equal(programBlock("I cannot help with that."), null);
  assert.throws(() => programBlock("Here:\n\n```scheme\n(* 2.0 t"), /at reply:3:1: .*not closed/);
  // CRLF replies read the same
  assert.deepEqual(readReply("```scheme\r\n(* 2.0 t)\r\n```\r\n", PARENT_TEXT, TASK), {
    text: "(* 2.0 t)\n",
    edit: "llm rewrite",
  });
  // a reasoning model's <think> drafts are not the answer; reply lines keep their numbers
  const thinking =
    "<think>\nmaybe\n```scheme\n(* 9.0 t)\n```\n</think>\n<<<<<<< SEARCH\n(g t)\n=======\n>>>>>>> REPLACE";
  assert.equal(withoutThinking(thinking).split("\n").length, thinking.split("\n").length);
  assert.match(
    (readReply(thinking, PARENT_TEXT, TASK) as { error: string }).error,
    /^reply:7:1: .*not in the parent/,
  );
  assert.deepEqual(readReply("<think>\n(* 9.0 t)\n</think>\n(* 2.0 t)", PARENT_TEXT, TASK), {
    text: "(* 2.0 t)\n",
    edit: "llm rewrite",
  });
  assert.match(
    (readReply("<think>\n```scheme\n(* 9.0 t)\n```", PARENT_TEXT, TASK) as { error: string }).error,
    /neither/,
  );
  // no program at all, or the parent unchanged
  assert.match(
    (readReply("No idea.", PARENT_TEXT, TASK) as { error: string }).error,
    /^reply:1:1: .*neither/,
  );
  assert.match(
    (readReply(fencedReply(PARENT_TEXT), PARENT_TEXT, TASK) as { error: string }).error,
    /unchanged/,
  );
  // the checks of every proposal: a primitive outside the allowed set, the size bound
  assert.match(
    (readReply(fencedReply("(expt t 2.0)\n"), PARENT_TEXT, TASK) as { error: string }).error,
    /^candidate\.scm:1:2: expt is a primitive not allowed in this search/,
  );
  const big = `(+ ${Array.from({ length: 40 }, (_, i) => `(* ${i}.5 t)`).join(" ")})\n`;
  assert.match(
    (readReply(fencedReply(big), PARENT_TEXT, TASK) as { error: string }).error,
    /more than the bound 60/,
  );
});
