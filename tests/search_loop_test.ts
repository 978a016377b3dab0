/**
 * Tests of the search loop end to end (lib/search/search.ts, controller.ts, pool.ts,
 * checkpoint.ts): the same seed and budget give the same history; candidates that loop forever,
 * recurse without end, allocate a huge tensor or throw are rejected with their reasons while the
 * search goes on; a search killed with SIGKILL and resumed loses no completed record and repeats
 * none; a proposer's errors are recorded and fed back.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadSearchSpec } from "../lib/search/spec.ts";
import { runSearch } from "../lib/search/search.ts";
import { readHistory } from "../lib/search/checkpoint.ts";
import type { HistoryRecord } from "../lib/search/controller.ts";
import type { Proposer } from "../lib/search/types.ts";

const root = new URL("../", import.meta.url).pathname;

/** A small search spec in a temporary folder: y = 1.5·exp(−0.4·t) + a small wiggle on 40 rows. */
async function tempSpec(search: Record<string, unknown> = {}): Promise<{ dir: string; spec: string }> {
  const dir = await Deno.makeTempDir({ prefix: "dmci-search-" });
  const t = Array.from({ length: 40 }, (_, i) => i * 0.25);
  const y = t.map((x, i) => 1.5 * Math.exp(-0.4 * x) + 0.001 * Math.sin(7 * i));
  const spec = {
    name: "decay-search",
    inputs: { t: "t" },
    target: "y",
    data: { columns: { t, y } },
    split: { kind: "fraction", train: 0.8 },
    backend: "f64",
    search: {
      task: "fit",
      seeds: [{ text: "(* 1.0 (+ 1.0 (* -0.1 t)))" }],
      primitives: ["+", "-", "*", "/", "exp", "square"],
      max_complexity: 30,
      restarts: 2,
      steps: 60,
      quick_rows: 16,
      checkpoint_every: 5,
      ...search,
    },
  };
  const path = join(dir, "spec.json");
  await Deno.writeTextFile(path, JSON.stringify(spec));
  return { dir, spec: path };
}

/** A `deno run cli.ts search …` subprocess command. */
function cli(args: string[], stdout: "null" | "piped" = "null"): Deno.Command {
  const flags = ["run", "-A", "--v8-flags=--stack-size=4000", join(root, "cli.ts"), "search"];
  return new Deno.Command(Deno.execPath(), { args: [...flags, ...args], stdout, stderr: "null" });
}

/** Waits until `out/history.jsonl` holds at least `n` records. */
async function waitForRecords(out: string, n: number): Promise<void> {
  while ((await readHistory(out).catch(() => [])).length < n) await new Promise((r) => setTimeout(r, 200));
}

/** A record without the fields that vary from run to run (timings). */
function stable(r: HistoryRecord): Omit<HistoryRecord, "seconds" | "time"> {
  const { seconds: _s, time: _t, ...rest } = r;
  return rest;
}

Deno.test("search: the same seed and --evaluations give identical histories; another seed a different one", async () => {
  const { dir, spec } = await tempSpec();
  const loaded = await loadSearchSpec(spec);
  const run = async (name: string, seed: number) => {
    await runSearch(loaded, {
      out: join(dir, name),
      evaluations: 30,
      workers: 2,
      seed,
      signals: false,
      plots: false,
    });
    return (await readHistory(join(dir, name))).map(stable);
  };
  const a = await run("a", 3), b = await run("b", 3), c = await run("c", 4);
  assert.equal(a.length, 30);
  assert.ok(a.filter((r) => r.stage === "accepted").length >= 5, "some candidates are accepted");
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((r) => r.text), c.map((r) => r.text));
  await Deno.remove(dir, { recursive: true });
});

/** A proposer that returns the given texts in turn, then errors. */
function scripted(texts: string[]): Proposer {
  let i = 0;
  return {
    name: "scripted",
    propose: () =>
      Promise.resolve(
        i < texts.length ? { text: texts[i++], proposer: "scripted", edit: `script ${i}` } : {
          error: "the script is over",
        },
      ),
  };
}

Deno.test("search: runaway, recursive, huge-tensor and throwing candidates are rejected with their reasons; the search goes on", async () => {
  const { dir, spec } = await tempSpec({
    primitives: ["+", "-", "*", "exp", "zeros", "sum", "list", "car", "error"],
    seconds: 4,
    fuel: 1_000_000_000_000,
    max_tensor: 1_000_000,
  });
  const loaded = await loadSearchSpec(spec);
  const texts = [
    "(define (spin x) (spin x)) (+ (* 1.0 t) (spin 0))", // loops forever (a tail call, fuel unbounded)
    "(define (deep n) (+ 1 (deep n))) (+ (* 1.0 t) (deep 0))", // recurses without end
    "(+ (* 1.0 t) (sum (zeros (list 5000 5000))))", // a tensor of 25 million elements
    '(+ (* 1.0 t) (error "boom" 2.0))', // throws
    "(* 1.2 (exp (* -0.3 t)))", // a good candidate after them
  ];
  const r = await runSearch(loaded, {
    out: join(dir, "out"),
    evaluations: 7,
    workers: 2,
    proposer: scripted(texts),
    signals: false,
    plots: false,
  });
  const history = await readHistory(join(dir, "out"));
  const byText = new Map(history.map((h) => [h.text, h]));
  const spin = byText.get(texts[0])!,
    deep = byText.get(texts[1])!,
    huge = byText.get(texts[2])!,
    boom = byText.get(texts[3])!;
  assert.equal(spin.stage, "timeout");
  assert.match(spin.message!, /wall time; its worker was terminated/);
  assert.equal(deep.stage, "quick");
  assert.match(deep.message!, /depth|stack|recursion/i);
  assert.equal(huge.stage, "quick");
  assert.match(huge.message!, /25000000|limit|too large|elements/i);
  assert.equal(boom.stage, "quick");
  assert.match(boom.message!, /boom/);
  const good = byText.get(texts[4])!;
  assert.equal(good.stage, "accepted");
  assert.ok(good.score! < 0.05, `the good candidate fits (validation NMSE ${good.score})`);
  const last = history[history.length - 1];
  assert.equal(last.stage, "propose");
  assert.equal(last.message, "the script is over");
  assert.equal(r.state.count, 7);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("search: kill -9 and --resume lose no completed record and repeat none", async () => {
  const { dir, spec } = await tempSpec({ evaluations: 400 });
  const out = join(dir, "out");
  const child = cli([spec, "--out", out, "--workers", "1"]).spawn();
  // Wait until a checkpoint and some records after it exist, then SIGKILL.
  await waitForRecords(out, 23);
  child.kill("SIGKILL");
  await child.status;
  const before = await Deno.readTextFile(join(out, "history.jsonl"));
  const complete = before.slice(0, before.lastIndexOf("\n") + 1).split("\n").filter((l) => l !== "");
  assert.ok(complete.length >= 23);
  // However far the first run got before the kill landed, the resumed run goes on from there.
  const total = complete.length + 37;
  const resumed = cli(
    [spec, "--resume", out, "--evaluations", `${total}`, "--workers", "1", "--json"],
    "piped",
  );
  const res = await resumed.output();
  assert.equal(res.code, 0);
  const doc = JSON.parse(new TextDecoder().decode(res.stdout));
  assert.equal(doc.evaluations, total);
  const history = await readHistory(out);
  assert.deepEqual(history.map((h) => h.n), Array.from({ length: total }, (_, i) => i + 1));
  const after = (await Deno.readTextFile(join(out, "history.jsonl"))).split("\n");
  complete.forEach((line, i) => assert.equal(after[i], line, `record ${i + 1} is kept as it was`));
  assert.equal(history.filter((h) => h.proposer === "seed").length, 1, "the seed is not added again");
  // The outputs of the finished search.
  const best = await Deno.readTextFile(join(out, "best.scm"));
  assert.match(best, /^; dmci search: fit task "decay-search"/);
  assert.match(best, /test rows: NMSE/);
  assert.equal(JSON.parse(await Deno.readTextFile(join(out, "best.json"))).score, doc.best.score);
  for (const svg of ["best_vs_evaluations.svg", "best_vs_time.svg", "pareto.svg", "best_fit.svg"]) {
    assert.ok((await Deno.readTextFile(join(out, svg))).startsWith("<svg"), svg);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("search: SIGTERM writes a checkpoint and exits 130; --resume goes on from it", async () => {
  const { dir, spec } = await tempSpec({ evaluations: 400, checkpoint_every: 1000 });
  const out = join(dir, "out");
  const child = cli([spec, "--out", out, "--workers", "1"]).spawn();
  await waitForRecords(out, 10);
  child.kill("SIGTERM");
  assert.equal((await child.status).code, 130);
  const ck = JSON.parse(await Deno.readTextFile(join(out, "checkpoint.json")));
  const history = await readHistory(out);
  assert.ok(
    ck.count >= 10 && ck.count <= history.length,
    `checkpoint at ${ck.count}, ${history.length} records`,
  );
  // However far the first run got before the signal landed, the resumed run goes on from there.
  const total = history.length + 30;
  const res = await cli(
    [spec, "--resume", out, "--evaluations", `${total}`, "--workers", "1", "--json"],
    "piped",
  )
    .output();
  assert.equal(res.code, 0);
  assert.deepEqual((await readHistory(out)).map((h) => h.n), Array.from({ length: total }, (_, i) => i + 1));
  await Deno.remove(dir, { recursive: true });
});
