/**
 * The fit server, started as a child process on 127.0.0.1 (tests/helpers/server.ts): every route,
 * each error status, the token on and off, cancel, the wall-time limit (a long fit and a program
 * that loops forever), and a SIGKILL mid-job followed by a restart that finishes the job.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FitClient, FitServerError } from "../mod.ts";
import { ROOT, startServerProcess, until } from "./helpers/server.ts";
import { serveFlags } from "../lib/server/config.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/**
 * A decay model with a busy loop of `spin` iterations in each run (20 000: about 10 ms per step),
 * fitted by `steps` Adam steps.
 */
function slowSpec(steps: number, name = "slow", spin = 20_000) {
  return {
    name,
    program: {
      text: `(define A 1.0) (define k 0.5) (define (spin n) (if (= n 0) 0 (spin (- n 1)))) (spin ${spin}) ` +
        "(* A (exp (- (* k t))))",
    },
    inputs: { t: "t" },
    target: "y",
    params: { A: { transform: "positive" }, k: { transform: "positive" } },
    data: { columns: { t: [0, 1, 2, 3, 4, 5], y: [2.5, 1.6, 1.0, 0.65, 0.41, 0.26] } },
    optimizer: { method: "adam", steps, tolerance: 0 },
    // tfjs runs every step untraced, so the busy loop costs its time at each step (an f64 fit
    // replays a trace, which skips the loop's plain work).
    backend: "tfjs",
  };
}

const LOOP_FOREVER = {
  name: "forever",
  program: { text: "(define k 1.0) (define (loop n) (loop (+ n 1))) (loop 0) (* k t)" },
  inputs: { t: "t" },
  target: "y",
  data: { columns: { t: [0, 1, 2], y: [0, 1, 2] } },
  backend: "f64",
};

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function errorOf(res: Response): Promise<{ kind: string; message: string; place: string | null }> {
  const body = await res.json();
  assert.ok(body.error, `expected an error body, got ${JSON.stringify(body)}`);
  assert.ok(!/\n\s+at /.test(JSON.stringify(body)), "no stack trace in an error answer");
  return body.error;
}

Deno.test("server: routes, results as `deno task fit --json`, validation errors", opts, async (t) => {
  const server = await startServerProcess();
  const client = new FitClient(server.url);
  try {
    await t.step("GET /health, /openapi.json (3.1), /docs, / ; security headers; CORS off", async () => {
      const health = await fetch(`${server.url}/health`);
      assert.equal(health.status, 200);
      assert.equal((await health.json()).ok, true);
      assert.equal(health.headers.get("x-content-type-options"), "nosniff");
      assert.equal(health.headers.get("x-frame-options"), "SAMEORIGIN");
      assert.equal(health.headers.get("access-control-allow-origin"), null);
      const doc = await (await fetch(`${server.url}/openapi.json`)).json();
      assert.equal(doc.openapi, "3.1.0");
      for (
        const path of [
          "/v1/fits",
          "/v1/fits/{id}",
          "/v1/fits/{id}/events",
          "/v1/fits/{id}/plot.svg",
          "/v1/eval",
        ]
      ) {
        assert.ok(doc.paths[path], `openapi.json documents ${path}`);
      }
      assert.ok(doc.paths["/v1/fits"].post.responses["429"]);
      const docs = await fetch(`${server.url}/docs`);
      assert.equal(docs.status, 200);
      assert.match(await docs.text(), /swagger/i);
      const page = await (await fetch(`${server.url}/`)).text();
      assert.match(page, /<select id="fixture"/);
      assert.match(page, /exponential_decay/);
    });

    await t.step("a fixture fit: 202, progress, done, same parameters as `cli.ts fit --json`", async () => {
      const accepted = await post(`${server.url}/v1/fits`, { fixture: "exponential_decay" });
      assert.equal(accepted.status, 202);
      const { id, url } = await accepted.json();
      assert.equal(url, `/v1/fits/${id}`);
      const seen: number[] = [];
      const fit = await client.wait(id, (p) => seen.push(p.step));
      assert.equal(fit.status, "done", JSON.stringify(fit.error));
      assert.ok(seen.length >= 1, "at least one progress event");
      const out = await Deno.makeTempDir();
      const cli = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--v8-flags=--stack-size=1700",
          "cli.ts",
          "fit",
          "fixtures/specs/exponential_decay.json",
          "--json",
          "--out",
          out,
        ],
        cwd: ROOT,
        stdout: "piped",
        stderr: "null",
      }).output();
      const expected = JSON.parse(new TextDecoder().decode(cli.stdout));
      const result = fit.result as typeof expected;
      assert.deepEqual(Object.keys(result).sort(), Object.keys(expected).sort());
      assert.deepEqual(result.params, expected.params);
      assert.deepEqual(result.train, expected.train);
      assert.deepEqual(result.test, expected.test);
      const svg = await fetch(`${server.url}/v1/fits/${id}/plot.svg`);
      assert.equal(svg.status, 200);
      assert.match(svg.headers.get("content-type")!, /image\/svg\+xml/);
      assert.equal(await svg.text(), await Deno.readTextFile(join(out, "exponential_decay.svg")));
      // GET /v1/fits/:id agrees with the final event; DELETE of a done fit is a conflict.
      assert.deepEqual(await client.get(id), fit);
      const del = await fetch(`${server.url}/v1/fits/${id}`, { method: "DELETE" });
      assert.equal(del.status, 409);
      await errorOf(del);
    });

    await t.step("inline columns and CSV text give the same fit", async () => {
      const spec = {
        name: "line",
        program: { text: "(define k 0.5) (* k t)" },
        inputs: { t: "t" },
        target: "y",
        backend: "f64",
      };
      const a = await client.submit({
        spec: { ...spec, data: { columns: { t: [0, 1, 2, 3], y: [0.1, 0.9, 2.1, 2.9] } } },
      });
      const b = await client.submit({ spec, csv: "t,y,label\n0,0.1,a\n1,0.9,b\n2,2.1,c\n3,2.9,d\n" });
      const [fa, fb] = [await client.wait(a.id), await client.wait(b.id)];
      assert.equal(fa.status, "done");
      assert.equal(fb.status, "done");
      // least squares through the origin: k = Σty / Σt² = (0.9 + 4.2 + 8.7) / 14
      const k = (fa.result!.params as { value: number }[])[0].value;
      assert.ok(Math.abs(k - 13.8 / 14) < 1e-6, `k = ${k}`);
      assert.deepEqual(fa.result!.params, fb.result!.params);
    });

    await t.step("GET /v1/fits pages newest first", async () => {
      const first = await client.list(2);
      assert.equal(first.items.length, 2);
      assert.ok(first.next);
      const second = await client.list(2, first.next!);
      assert.ok(second.items.length >= 1);
      const ids = [...first.items, ...second.items].map((f) => f.id);
      assert.equal(new Set(ids).size, ids.length, "pages do not overlap");
      assert.ok(first.items[0].created >= first.items[1].created);
      const bad = await fetch(`${server.url}/v1/fits?limit=0`);
      assert.equal(bad.status, 400);
      assert.match((await errorOf(bad)).message, /\$\.limit/);
    });

    await t.step("400 names the JSON path; no file outside the fixtures; invalid JSON", async () => {
      const cases: [unknown, RegExp][] = [
        [
          { spec: { ...slowSpec(1), optimizer: { steps: -3 } } },
          /\$\.spec\.optimizer\.steps: expected a positive integer, got -3/,
        ],
        [{ spec: { ...slowSpec(1), data: { csv: "/etc/passwd" } } }, /\$\.spec\.data\.csv/],
        [{ spec: { ...slowSpec(1), program: "../../etc/passwd" } }, /\$\.spec\.program/],
        [{ fixture: "../specs/exponential_decay" }, /\$\.fixture: expected one of/],
        [{ fixture: "exponential_decay", extra: 1 }, /extra/],
        [{ spec: 1 }, /\$\.spec/],
        [{}, /exactly one of/],
        [{ spec: { ...slowSpec(1), data: undefined }, csv: "t,y\n0,x\n" }, /\$\.csv:2:3/],
        ["{not json", /not valid JSON/],
      ];
      for (const [body, message] of cases) {
        const res = await post(`${server.url}/v1/fits`, body);
        assert.equal(res.status, 400, JSON.stringify(body));
        const e = await errorOf(res);
        assert.match(`${e.message} ${e.place ?? ""}`, message);
      }
    });

    await t.step("404 unknown fit and route; 409 plot of an unfinished fit; 413 body too large", async () => {
      for (const path of ["/v1/fits/nope", "/v1/fits/nope/plot.svg", "/v1/fits/nope/events", "/nowhere"]) {
        const res = await fetch(server.url + path);
        assert.equal(res.status, 404, path);
        await errorOf(res);
      }
      const del = await fetch(`${server.url}/v1/fits/nope`, { method: "DELETE" });
      assert.equal(del.status, 404);
      await errorOf(del);
      const { id } = await client.submit({ spec: slowSpec(400) });
      const early = await fetch(`${server.url}/v1/fits/${id}/plot.svg`);
      assert.equal(early.status, 409);
      await errorOf(early);
      await client.cancel(id);
      const big = await post(`${server.url}/v1/fits`, {
        spec: slowSpec(1),
        csv: "x".repeat(5 * 1024 * 1024),
      });
      assert.equal(big.status, 413);
      assert.equal((await errorOf(big)).kind, "limit");
    });

    await t.step(
      "POST /v1/eval: value and gradient, direct and interpreted; 422 with the place",
      async () => {
        // d/dk (k² t) at k = 2, t = 3: value 12, gradient 2kt = 12; d/dc (c) = 1
        for (const mode of ["direct", "interpreted"] as const) {
          const r = await client.eval({
            program: "(define k 3.0) (define c 1.0) (+ c (* k k t))",
            theta: [2, 1],
            inputs: { t: 3 },
            mode,
          });
          assert.equal(r.value, 13);
          assert.deepEqual(r.gradient, [12, 1]);
          assert.deepEqual(r.params, ["k", "c"]);
        }
        const bad = await post(`${server.url}/v1/eval`, { program: "(define k 3.0)\n(* k q)" });
        assert.equal(bad.status, 422);
        const e = await errorOf(bad);
        assert.equal(e.kind, "unbound");
        assert.equal(e.place, "request#program:2:6");
        const invalid = await post(`${server.url}/v1/eval`, { program: "(* 2 2)", theta: "x" });
        assert.equal(invalid.status, 400);
        assert.match((await errorOf(invalid)).message, /\$\.theta/);
      },
    );

    await t.step("one JSON log line per request", () => {
      const requests = server.lines.filter((l) => l.method);
      assert.ok(requests.length >= 20);
      for (const l of requests) {
        assert.deepEqual(Object.keys(l).sort(), ["method", "ms", "path", "status", "time"]);
      }
    });
  } finally {
    await server.dispose();
  }
});

Deno.test("server: the bearer token, on", opts, async () => {
  const server = await startServerProcess({ DMCI_TOKEN: "s3cret-token" });
  try {
    const none = await post(`${server.url}/v1/fits`, { fixture: "exponential_decay" });
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate")!, /^Bearer/);
    assert.equal((await errorOf(none)).kind, "auth");
    for (const token of ["wrong", "s3cret-token2", "s3cret-tokeN", "Bearer s3cret-token"]) {
      const res = await fetch(`${server.url}/v1/fits`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 401, token);
      await res.body?.cancel();
    }
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    const client = new FitClient(server.url, { token: "s3cret-token" });
    const { id } = await client.submit({ fixture: "exponential_decay" });
    assert.equal((await client.wait(id)).status, "done");
    await assert.rejects(
      new FitClient(server.url).get(id),
      (e) => e instanceof FitServerError && e.status === 401,
    );
  } finally {
    await server.dispose();
  }
});

Deno.test(
  "server: cancel, wall-time limit, a loop forever, fuel, and 429 on a full queue",
  opts,
  async () => {
    const server = await startServerProcess({
      DMCI_WORKERS: "2",
      DMCI_QUEUE: "3",
      DMCI_JOB_SECONDS: "4",
      DMCI_EVAL_SECONDS: "1",
      DMCI_FUEL: "1000000000000000",
    });
    const client = new FitClient(server.url);
    try {
      // cancel a running fit: its worker is terminated, the events end with the cancelled state
      const running = await client.submit({ spec: slowSpec(100_000, "to-cancel", 2_000_000) });
      await until(async () => (await client.get(running.id)).progress ?? undefined, "progress");
      const final = client.wait(running.id);
      const cancelled = await client.cancel(running.id);
      assert.equal(cancelled.status, "cancelled");
      assert.equal((await final).status, "cancelled");

      // over its time, and looping forever: both fail with a `limit` error while the server answers
      const long = await client.submit({ spec: slowSpec(100_000, "too-long", 2_000_000) });
      const forever = await client.submit({ spec: LOOP_FOREVER });
      const t0 = Date.now();
      let answered = 0;
      while (Date.now() - t0 < 2000) {
        assert.equal((await fetch(`${server.url}/health`)).status, 200);
        answered++;
      }
      assert.ok(answered > 10);
      for (const id of [long.id, forever.id]) {
        const fit = await client.wait(id);
        assert.equal(fit.status, "failed");
        assert.equal(fit.error!.kind, "limit");
        assert.match(fit.error!.message, /wall-time limit of 4 s/);
      }
      // a request's own fuel limit: the loop runs out of fuel
      const fuel = await client.wait(
        (await client.submit({ spec: LOOP_FOREVER, limits: { fuel: 10_000 } })).id,
      );
      assert.equal(fuel.status, "failed");
      assert.equal(fuel.error!.kind, "limit");
      assert.match(fuel.error!.message, /fuel|steps/i);
      // an evaluation that loops forever ends at its own (short) limit, with 422
      const loop = await post(`${server.url}/v1/eval`, {
        program: "(define (loop n) (loop (+ n 1))) (loop 0)",
      });
      assert.equal(loop.status, 422);
      const loopError = await errorOf(loop);
      assert.equal(loopError.kind, "limit");
      assert.match(loopError.message, /wall-time limit of 1 s/);
      // the server is still fine: a small fit finishes
      assert.equal(
        (await client.wait((await client.submit({ fixture: "exponential_decay" })).id)).status,
        "done",
      );

      // a full queue: 2 running + 3 queued, the next is refused with 429 and Retry-After
      const ids = [];
      for (let i = 0; i < 5; i++) {
        ids.push(
          (await client.submit({ spec: slowSpec(100_000, `fill-${i}`, 2_000_000) })).id,
        );
      }
      const refused = await post(`${server.url}/v1/fits`, { spec: slowSpec(1) });
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get("retry-after")) >= 1);
      assert.equal((await errorOf(refused)).kind, "limit");
      for (const id of ids) await client.cancel(id);
    } finally {
      await server.dispose();
    }
  },
);

Deno.test("server: CORS only for the configured origins", opts, async () => {
  const server = await startServerProcess({ DMCI_CORS_ORIGINS: "https://lab.example" });
  try {
    const allowed = await fetch(`${server.url}/v1/fits`, { headers: { origin: "https://lab.example" } });
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://lab.example");
    await allowed.body?.cancel();
    const other = await fetch(`${server.url}/v1/fits`, { headers: { origin: "https://elsewhere.example" } });
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    await other.body?.cancel();
  } finally {
    await server.dispose();
  }
});

Deno.test("server: SIGKILL mid-job, restart, nothing lost", opts, async () => {
  const first = await startServerProcess({ DMCI_WORKERS: "1" });
  const client1 = new FitClient(first.url);
  const a = await client1.submit({ spec: slowSpec(300, "killed-mid-job") });
  const b = await client1.submit({ spec: slowSpec(20, "queued-at-kill") });
  const done = await client1.submit({ fixture: "logistic_growth" });
  await until(async () => (await client1.get(a.id)).progress ?? undefined, "progress of the first job");
  const status = await first.stop("SIGKILL");
  assert.equal(status.signal, "SIGKILL");

  const second = await startServerProcess({ DMCI_WORKERS: "1" }, first.dataDir);
  try {
    assert.equal(second.started.requeued, 3);
    const client2 = new FitClient(second.url);
    const fa = await client2.wait(a.id);
    assert.equal(fa.status, "done", JSON.stringify(fa.error));
    assert.equal(fa.attempts, 2, "started once before the kill and once after");
    const fb = await client2.wait(b.id);
    assert.equal(fb.status, "done");
    assert.equal(fb.attempts, 1);
    assert.equal((await client2.wait(done.id)).status, "done");
    // a finished result stays readable after another restart
    await second.stop();
    const third = await startServerProcess({}, first.dataDir);
    try {
      assert.equal(third.started.requeued, 0);
      assert.deepEqual((await new FitClient(third.url).get(a.id)).result, fa.result);
    } finally {
      await third.stop();
    }
  } finally {
    await second.stop();
    await Deno.remove(first.dataDir, { recursive: true });
  }
});

Deno.test("server: `deno task serve` uses exactly the flags the tests run with; serve --help", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks;
  assert.equal(tasks.serve, `deno run ${serveFlags("$HOME/.local/share/dmci").join(" ")} server.ts`);
  const help = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli.ts", "serve", "--help"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(help.stdout);
  assert.equal(help.code, 0);
  for (
    const word of [
      "POST   /v1/fits",
      "/v1/eval",
      "DMCI_TOKEN",
      "DMCI_DATA_DIR",
      "--allow-net=127.0.0.1",
      "--unstable-worker-options",
    ]
  ) {
    assert.ok(text.includes(word), `serve --help mentions ${word}`);
  }
});
