/**
 * Program searches as jobs of the fit server (/v1/searches), the server started as a child process
 * on 127.0.0.1 (tests/helpers/server.ts): a bundled search runs to done with the `search --json`
 * document as its result, progress and events; an inline search; cancel; the server's bounds;
 * errors naming the JSON path; the token; the `llm` proposer only with a configured endpoint (a
 * scripted local one, tests/helpers/llm_server.ts); SIGKILL mid-search and a restart that runs it
 * again; the OpenAPI document.
 */
import assert from "node:assert/strict";
import { FitClient, FitServerError } from "../mod.ts";
import { startServerProcess, until } from "./helpers/server.ts";
import { fencedReply, reply, startServer as startLlmServer } from "./helpers/llm_server.ts";
import { configFromEnv, SERVE_USAGE, serveFlags } from "../lib/server/config.ts";
import { lineSearchSpec } from "./helpers/line_search.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** A small inline search (y = 2 + 0.75·x, 24 rows). */
const LINE = lineSearchSpec("line-inline", 24, { restarts: 1, steps: 40 });

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

async function errorOf(res: Response): Promise<{ kind: string; message: string }> {
  const body = await res.json();
  assert.ok(body.error, `expected an error body, got ${JSON.stringify(body)}`);
  return body.error;
}

Deno.test(
  "server searches: a bundled search runs to done; events, list, kinds apart; inline; errors",
  opts,
  async (t) => {
    const server = await startServerProcess({ DMCI_WORKERS: "2", DMCI_SEARCH_EVALUATIONS: "40" });
    const client = new FitClient(server.url);
    try {
      await t.step(
        "a bundled search with 20 evaluations: progress, then the `search --json` document",
        async () => {
          const res = await post(`${server.url}/v1/searches`, {
            fixture: "pendulum-search",
            evaluations: 20,
          });
          assert.equal(res.status, 202);
          const { id, url, status } = await res.json();
          assert.equal(url, `/v1/searches/${id}`);
          assert.equal(status, "queued");
          const seen: number[] = [];
          const s = await client.waitSearch(id, (p) => seen.push(p.evaluations));
          assert.equal(s.status, "done", JSON.stringify(s.error));
          assert.equal(s.kind, "search");
          assert.equal(s.name, "pendulum-search");
          const r = s.result as Record<string, any>;
          assert.equal(r.evaluations, 20);
          assert.deepEqual(Object.keys(r).sort(), [
            "best",
            "evaluations",
            "pareto",
            "rejected",
            "seconds",
            "test",
          ]);
          assert.ok(typeof r.best.program === "string" && r.best.program.length > 0);
          assert.ok(Number.isFinite(r.best.score) && r.best.complexity > 0);
          assert.ok(r.best.constants.every((c: { se: unknown }) => "se" in c));
          assert.ok(r.pareto.length >= 1);
          assert.ok(
            r.test.rows > 0 && Number.isFinite(r.test.nmse),
            "the test rows are scored after the search",
          );
          const rejected = Object.values(r.rejected as Record<string, number>).reduce((a, b) => a + b, 0);
          assert.equal(s.progress!.evaluations, 20);
          assert.equal(s.progress!.budget, 20);
          assert.equal(s.progress!.best, r.best.score);
          assert.equal(s.progress!.rejected, rejected);
          assert.ok(seen.every((n, i) => i === 0 || n >= seen[i - 1]), `progress in order: ${seen}`);
          // listed with the searches, not with the fits; not found at /v1/fits/:id
          const page = await client.listSearches();
          assert.ok(page.items.some((x) => x.id === id));
          assert.ok(!(await client.list()).items.some((x) => x.id === id));
          assert.equal((await fetch(`${server.url}/v1/fits/${id}`)).status, 404);
          // its events, after the end: one final event
          const events = await (await fetch(`${server.url}/v1/searches/${id}/events`)).text();
          assert.match(events, /event: final\ndata: \{"id":"[^"]+","kind":"search"/);
          // a done search cannot be cancelled
          const again = await fetch(`${server.url}/v1/searches/${id}`, { method: "DELETE" });
          assert.equal(again.status, 409);
        },
      );

      await t.step("an inline search spec; evaluations bounded by DMCI_SEARCH_EVALUATIONS", async () => {
        const { id } = await client.submitSearch({ spec: LINE, evaluations: 1000, seed: 3 });
        const s = await client.waitSearch(id);
        assert.equal(s.status, "done", JSON.stringify(s.error));
        assert.equal(s.progress!.budget, 40, "1000 asked, 40 allowed");
        assert.equal((s.result as { evaluations: number }).evaluations, 40);
        assert.ok((s.result as { best: { score: number } }).best.score < 0.01);
      });

      await t.step("errors: 400 naming the JSON path", async () => {
        const bad = async (body: unknown, re: RegExp) => {
          const res = await post(`${server.url}/v1/searches`, body);
          assert.equal(res.status, 400, JSON.stringify(body));
          const e = await errorOf(res);
          assert.match(e.message, re);
        };
        await bad(
          { spec: { ...LINE, search: { ...LINE.search, islands: 0 } } },
          /\$\.spec\.search\.islands: /,
        );
        await bad(
          { spec: { ...LINE, search: { ...LINE.search, seeds: ["../x.scm"] } } },
          /\$\.spec\.search\.seeds\[0\]/,
        );
        await bad({ spec: { ...LINE, data: { csv: "/etc/passwd" } } }, /\$\.spec\.data\.csv/);
        await bad(
          { spec: { ...LINE, search: { ...LINE.search, primitives: ["frob"] } } },
          /\$\.spec\.search\.primitives\[0\]/,
        );
        await bad(
          { fixture: "nope-search" },
          /\$\.fixture: expected one of .*"pendulum-search", got "nope-search"/,
        );
        await bad(
          { fixture: "battery-search" },
          /\$\.fixture: the battery cells .* outside the bundled fixtures/,
        );
        await bad({ fixture: "pendulum-search", spec: LINE }, /exactly one of/);
        await bad({ fixture: "pendulum-search", evaluations: -3 }, /\$\.evaluations/);
        await bad(
          { fixture: "pendulum-search", proposer: "llm" },
          /\$\.proposer: this server has no LLM endpoint/,
        );
        await bad({ fixture: "pendulum-search", frobnicate: 1 }, /frobnicate/);
        assert.equal((await fetch(`${server.url}/v1/searches/nope`)).status, 404);
        assert.equal((await fetch(`${server.url}/v1/searches/nope`, { method: "DELETE" })).status, 404);
        assert.equal((await fetch(`${server.url}/v1/searches?limit=0`)).status, 400);
      });

      await t.step(
        "cancel a running search: its worker is terminated, the server stays responsive",
        async () => {
          const { id } = await client.submitSearch({
            fixture: "pendulum-search",
            evaluations: 40,
            minutes: 5,
          });
          await until(
            async () => ((await client.getSearch(id)).progress?.evaluations ?? 0) > 0 || undefined,
            "progress",
          );
          const cancelled = await client.cancelSearch(id);
          assert.equal(cancelled.status, "cancelled");
          const later = await client.getSearch(id);
          assert.equal(later.status, "cancelled");
          assert.equal(later.result, null);
          await assert.rejects(
            client.cancelSearch(id),
            (e) => e instanceof FitServerError && e.status === 409,
          );
          const health = await (await fetch(`${server.url}/health`)).json();
          assert.equal(health.running, 0);
          // and the next search runs
          const next = await client.submitSearch({ spec: LINE, evaluations: 5 });
          assert.equal((await client.waitSearch(next.id)).status, "done");
        },
      );

      await t.step("the OpenAPI document has the search routes and schemas", async () => {
        const doc = await (await fetch(`${server.url}/openapi.json`)).json();
        for (const path of ["/v1/searches", "/v1/searches/{id}", "/v1/searches/{id}/events"]) {
          assert.ok(doc.paths[path], path);
        }
        assert.ok(doc.paths["/v1/searches"].post && doc.paths["/v1/searches"].get);
        assert.ok(doc.paths["/v1/searches/{id}"].delete);
        for (const name of ["SearchRequest", "Search", "SearchProgress", "SearchPage"]) {
          assert.ok(doc.components.schemas[name], name);
        }
      });
    } finally {
      await server.dispose();
    }
  },
);

Deno.test("server searches: the token guards them; a full queue answers 429", opts, async () => {
  const server = await startServerProcess({ DMCI_TOKEN: "s3cret", DMCI_WORKERS: "1", DMCI_QUEUE: "1" });
  try {
    const res = await post(`${server.url}/v1/searches`, { fixture: "pendulum-search", evaluations: 5 });
    assert.equal(res.status, 401);
    await res.body?.cancel();
    const client = new FitClient(server.url, { token: "s3cret" });
    const ids: string[] = [];
    let refused: FitServerError | null = null;
    for (let i = 0; i < 4 && !refused; i++) {
      try {
        ids.push(
          (await client.submitSearch({ fixture: "pendulum-search", evaluations: 200, minutes: 2 })).id,
        );
      } catch (e) {
        if (!(e instanceof FitServerError)) throw e;
        refused = e;
      }
    }
    assert.ok(refused && refused.status === 429 && refused.retryAfter! >= 1, String(refused));
    for (const id of ids) await client.cancelSearch(id);
  } finally {
    await server.dispose();
  }
});

Deno.test(
  "server searches: proposer llm with the server's endpoint; tokens in the result",
  opts,
  async () => {
    const llm = startLlmServer([
      reply(fencedReply("(* 3.0 (+ 0.5 x))\n"), 400, 10),
      reply(fencedReply("(+ 1.0 (* 2.0 x)))\n"), 410, 11), // does not read: a propose error
      reply(fencedReply("(+ 2.0 (* 0.75 x) (* 0.01 (exp (* -1.0 x))))\n"), 420, 12),
    ]);
    const server = await startServerProcess({
      DMCI_LLM_BASE_URL: llm.baseURL,
      DMCI_LLM_MODEL: "scripted",
    });
    try {
      const client = new FitClient(server.url);
      const { id } = await client.submitSearch({ spec: LINE, evaluations: 4, proposer: "llm" });
      const s = await client.waitSearch(id);
      assert.equal(s.status, "done", JSON.stringify(s.error));
      const r = s.result as Record<string, any>;
      assert.equal(r.evaluations, 4);
      assert.deepEqual(r.rejected, { propose: 1 });
      assert.deepEqual(r.tokens, { calls: 3, promptTokens: 1230, completionTokens: 33 });
      assert.equal(llm.requests.length, 3);
      assert.ok(llm.requests.every((q) => q.model === "scripted"));
    } finally {
      await server.dispose();
      await llm.close();
    }
  },
);

Deno.test("server searches: SIGKILL mid-search, restart, the search runs again to done", opts, async () => {
  const first = await startServerProcess({ DMCI_WORKERS: "1" });
  const client1 = new FitClient(first.url);
  const { id } = await client1.submitSearch({ fixture: "pendulum-search", evaluations: 30 });
  await until(
    async () => ((await client1.getSearch(id)).progress?.evaluations ?? 0) > 0 || undefined,
    "progress",
  );
  assert.equal((await first.stop("SIGKILL")).signal, "SIGKILL");
  const second = await startServerProcess({ DMCI_WORKERS: "1" }, first.dataDir);
  try {
    assert.equal(second.started.requeued, 1);
    const s = await new FitClient(second.url).waitSearch(id);
    assert.equal(s.status, "done", JSON.stringify(s.error));
    assert.equal(s.attempts, 2, "started once before the kill and once after");
    assert.equal((s.result as { evaluations: number }).evaluations, 30);
  } finally {
    await second.dispose();
  }
});

Deno.test("server searches: configuration (bounds, the LLM endpoint, its host in --allow-net) and serve --help", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const plain = configFromEnv(env({}));
  assert.deepEqual(plain.search, { evaluations: 500, minutes: 10, llm: false });
  assert.equal(plain.llm, undefined);
  const withLlm = configFromEnv(env({
    DMCI_SEARCH_EVALUATIONS: "50",
    DMCI_SEARCH_MINUTES: "2.5",
    DMCI_LLM_BASE_URL: "http://10.0.0.7:11434/v1",
    DMCI_LLM_MODEL: "qwen2.5-coder",
    DMCI_LLM_TEMPERATURE: "0.2",
  }));
  assert.deepEqual(withLlm.search, { evaluations: 50, minutes: 2.5, llm: true });
  assert.deepEqual(withLlm.llm, {
    baseURL: "http://10.0.0.7:11434/v1",
    model: "qwen2.5-coder",
    temperature: 0.2,
  });
  assert.ok(
    serveFlags("/d", "127.0.0.1", withLlm.llm!.baseURL).includes("--allow-net=127.0.0.1,10.0.0.7:11434"),
  );
  assert.ok(serveFlags("/d").includes("--allow-net=127.0.0.1"));
  assert.throws(() => configFromEnv(env({ DMCI_SEARCH_EVALUATIONS: "0" })), /DMCI_SEARCH_EVALUATIONS/);
  assert.throws(
    () => configFromEnv(env({ DMCI_LLM_BASE_URL: "nope", DMCI_LLM_MODEL: "m" })),
    /DMCI_LLM_BASE_URL/,
  );
  for (
    const word of ["/v1/searches", "/v1/searches/:id/events", "DMCI_SEARCH_EVALUATIONS", "DMCI_LLM_BASE_URL"]
  ) {
    assert.ok(SERVE_USAGE.includes(word), word);
  }
});
