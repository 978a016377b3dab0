/**
 * The node:sqlite fit store: its state machine (a final state is never left), recovery after a
 * crash (running → queued, finished kept) across a reopen, paging, and jobs of two kinds (fits,
 * searches) in one table, an older table migrated.
 */
import assert from "node:assert/strict";
import { openSqliteStore } from "../lib/server/sqlite_store.ts";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import type { FitRequest, SearchRequest } from "../lib/server/store.ts";

function request(name: string): FitRequest {
  return {
    loaded: {
      spec: { name } as FitRequest["loaded"]["spec"],
      file: "$.spec",
      dir: "/",
      programText: "(* k t)",
      programFile: "$.spec#program",
    },
    limits: { seconds: 10, fuel: 1000, maxTensorSize: 100 },
  };
}

Deno.test("sqlite store: transitions, recovery after reopening, paging", async () => {
  const dir = await Deno.makeTempDir();
  let store = openSqliteStore(dir);
  for (const id of ["a", "b", "c", "d", "e"]) await store.create(id, request(`fit-${id}`));
  assert.equal((await store.get("a"))!.status, "queued");
  assert.deepEqual(await store.request("a"), request("fit-a"));

  assert.equal(await store.start("a"), true);
  assert.equal(await store.start("a"), false, "a running job cannot start again");
  await store.progress("a", { restart: 1, restarts: 1, step: 3, steps: 10, loss: 0.5 });
  await store.finish("a", { params: [] }, "<svg/>");
  assert.equal(await store.cancel("a"), false, "done is final");
  await store.fail("a", { kind: "limit", message: "late", place: null });
  const a = (await store.get("a"))!;
  assert.equal(a.status, "done");
  assert.equal(a.error, null);
  assert.deepEqual(a.progress, { restart: 1, restarts: 1, step: 3, steps: 10, loss: 0.5 });
  assert.equal(await store.plot("a"), "<svg/>");

  assert.equal(await store.start("b"), true);
  assert.equal(await store.cancel("c"), true);
  assert.equal(await store.start("c"), false, "a cancelled job does not start");
  await store.start("d");
  await store.fail("d", { kind: "limit", message: "too long", place: null });

  // A crash: the store is reopened without closing; b was running.
  store = openSqliteStore(dir);
  assert.deepEqual(await store.recover(), ["b", "e"]);
  const b = (await store.get("b"))!;
  assert.equal(b.status, "queued");
  assert.equal(b.attempts, 1);
  assert.equal(b.progress, null);
  assert.equal((await store.get("a"))!.status, "done");
  assert.deepEqual((await store.get("d"))!.error, { kind: "limit", message: "too long", place: null });
  assert.equal((await store.get("c"))!.status, "cancelled");
  assert.equal(await store.get("zzz"), undefined);

  const first = await store.list(2);
  assert.deepEqual(first.items.map((r) => r.id), ["e", "d"]);
  const second = await store.list(2, first.next!);
  assert.deepEqual(second.items.map((r) => r.id), ["c", "b"]);
  const third = await store.list(2, second.next!);
  assert.deepEqual(third.items.map((r) => r.id), ["a"]);
  assert.equal(third.next, null);
  store.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sqlite store: jobs of two kinds listed apart; a store made before searches gains their column", async () => {
  const dir = await Deno.makeTempDir();
  // the table as it was before searches were jobs (no kind column), with one fit in it
  const old = new DatabaseSync(join(dir, "fits.sqlite"));
  old.exec(`CREATE TABLE fits (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL, status TEXT NOT NULL, created TEXT NOT NULL, started TEXT, finished TEXT,
    request TEXT NOT NULL, progress TEXT, result TEXT, svg TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0)`);
  old.prepare(
    "INSERT INTO fits (id, name, status, created, request) VALUES ('old', 'fit-old', 'queued', 't', ?)",
  )
    .run(JSON.stringify(request("fit-old")));
  old.close();
  const store = openSqliteStore(dir);
  assert.equal((await store.get("old"))!.kind, "fit");
  const search = { ...request("s"), kind: "search" } as unknown as SearchRequest;
  await store.create("s1", search);
  await store.create("f1", request("fit-1"));
  assert.equal((await store.get("s1"))!.kind, "search");
  assert.deepEqual((await store.list(10)).items.map((r) => r.id), ["f1", "old"]);
  assert.deepEqual((await store.list(10, undefined, "search")).items.map((r) => r.id), ["s1"]);
  await store.start("s1");
  const p = { evaluations: 3, budget: 10, best: 0.5, complexity: 7, bestId: "2", rejected: 1, seconds: 0.2 };
  await store.progress("s1", p);
  assert.deepEqual((await store.get("s1"))!.progress, p);
  assert.deepEqual(await store.recover(), ["old", "s1", "f1"]);
  store.close();
  await Deno.remove(dir, { recursive: true });
});
