/**
 * Load on the fit server: 200 small fits posted at once to a server on 127.0.0.1 (2 workers,
 * a queue of 100). Every request must be answered (202 or 429), every accepted fit must finish,
 * none may be lost. Prints throughput and the p50/p99 latency of POST and of job completion.
 * Bounded: gives up after 10 minutes. Run: deno run -A bench/server_load.ts [N]
 */
import { FitClient } from "../mod.ts";
import { startServerProcess } from "../tests/helpers/server.ts";

const N = Number(Deno.args[0] ?? 200);
const DEADLINE_MS = 10 * 60 * 1000;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
}

function spec(i: number) {
  const t = [0, 1, 2, 3, 4, 5];
  return {
    name: `load_${i}`,
    program: { text: "(define k 0.5) (define c 0.1) (+ c (* k t))" },
    inputs: { t: "t" },
    target: "y",
    data: { columns: { t, y: t.map((x) => 0.3 + (1 + i / N) * x + 0.01 * Math.sin(7 * x + i)) } },
    backend: "f64",
    mode: "direct",
  };
}

const server = await startServerProcess({ DMCI_WORKERS: "2", DMCI_QUEUE: "100" });
const deadline = setTimeout(() => {
  console.error(`gave up after ${DEADLINE_MS / 1000} s`);
  server.stop("SIGKILL").then(() => Deno.exit(1));
}, DEADLINE_MS);
const client = new FitClient(server.url);
try {
  const t0 = performance.now();
  const posts = await Promise.all(Array.from({ length: N }, async (_, i) => {
    const sent = performance.now();
    const res = await fetch(`${server.url}/v1/fits`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ spec: spec(i) }),
    });
    const body = await res.json();
    return { status: res.status, ms: performance.now() - sent, sent, id: body.id as string | undefined };
  }));
  const tPosted = performance.now();
  const accepted = posts.filter((p) => p.status === 202);
  const refused = posts.filter((p) => p.status === 429);
  const other = posts.filter((p) => p.status !== 202 && p.status !== 429);
  const finals = await Promise.all(accepted.map(async (p) => {
    const fit = await client.wait(p.id!);
    return { status: fit.status, ms: performance.now() - p.sent };
  }));
  const tDone = performance.now();
  const done = finals.filter((f) => f.status === "done").length;
  // None lost: every accepted id is in the store, final.
  let listed = 0;
  for (let cursor: string | undefined, page; (page = await client.list(100, cursor)); cursor = page.next) {
    listed += page.items.filter((f) => accepted.some((a) => a.id === f.id) && f.status === "done").length;
    if (!page.next) break;
  }
  const postMs = posts.map((p) => p.ms);
  const doneMs = finals.map((f) => f.ms);
  console.log(
    `requests: ${N}; answered 202: ${accepted.length}, 429: ${refused.length}, other: ${other.length}`,
  );
  console.log(
    `accepted fits done: ${done}/${accepted.length}; done and listed by GET /v1/fits: ${listed}; lost: ${
      accepted.length - listed
    }`,
  );
  console.log(
    `POST latency: p50 ${quantile(postMs, 0.5).toFixed(1)} ms, p99 ${
      quantile(postMs, 0.99).toFixed(1)
    } ms (all ${N} answered in ${(tPosted - t0).toFixed(0)} ms)`,
  );
  console.log(
    `completion latency (POST sent → final event): p50 ${(quantile(doneMs, 0.5) / 1000).toFixed(2)} s, p99 ${
      (quantile(doneMs, 0.99) / 1000).toFixed(2)
    } s`,
  );
  console.log(
    `throughput: ${(done / ((tDone - t0) / 1000)).toFixed(2)} fits/s (${done} fits in ${
      ((tDone - t0) / 1000).toFixed(1)
    } s, 2 workers)`,
  );
  if (other.length || done !== accepted.length || listed !== accepted.length) Deno.exitCode = 1;
} finally {
  clearTimeout(deadline);
  await server.dispose();
}
