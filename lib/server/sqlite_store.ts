/**
 * The fit store on `node:sqlite`: one database file in the data directory, in WAL mode with
 * `synchronous = FULL`, so that a job's state is on disk before the call that changed it returns
 * and a killed process loses nothing. Each state change is one conditional UPDATE, so a job
 * cannot go from a final state back to another.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { join } from "node:path";
import {
  type FitErrorRecord,
  type FitPage,
  type FitProgressRecord,
  type FitRecord,
  type FitStatus,
  type FitStore,
  type JobKind,
  type JobRequest,
  kindOf,
  type SearchProgressRecord,
} from "./store.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS fits (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  created TEXT NOT NULL,
  started TEXT,
  finished TEXT,
  request TEXT NOT NULL,
  progress TEXT,
  result TEXT,
  svg TEXT,
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  kind TEXT NOT NULL DEFAULT 'fit'
);
CREATE INDEX IF NOT EXISTS fits_status ON fits (status, seq);
`;

/** A store made before searches were jobs gets their column (every old job is a fit). */
const MIGRATIONS = [
  { column: "kind", sql: "ALTER TABLE fits ADD COLUMN kind TEXT NOT NULL DEFAULT 'fit'" },
];

const COLUMNS = "id, kind, name, status, created, started, finished, progress, result, error, attempts";

interface Row {
  id: string;
  kind: string;
  name: string;
  status: string;
  created: string;
  started: string | null;
  finished: string | null;
  progress: string | null;
  result: string | null;
  error: string | null;
  attempts: number;
}

function toRecord(r: Row): FitRecord {
  const json = (s: string | null) => (s === null ? null : JSON.parse(s));
  return {
    id: r.id,
    kind: r.kind as JobKind,
    name: r.name,
    status: r.status as FitStatus,
    created: r.created,
    started: r.started,
    finished: r.finished,
    progress: json(r.progress),
    result: json(r.result),
    error: json(r.error),
    attempts: r.attempts,
  };
}

const now = () => new Date().toISOString();

/**
 * Opens (creating when needed) the store `fits.sqlite` in `dir`.
 *
 * @example
 * ```ts
 * const store = openSqliteStore("/tmp/dmci");
 * await store.recover(); // ids of the queued jobs
 * ```
 */
export function openSqliteStore(dir: string): FitStore {
  Deno.mkdirSync(dir, { recursive: true });
  const db = new DatabaseSync(join(dir, "fits.sqlite"));
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
  db.exec(SCHEMA);
  const columns = new Set(
    (db.prepare("PRAGMA table_info(fits)").all() as { name: string }[]).map((c) => c.name),
  );
  for (const m of MIGRATIONS) if (!columns.has(m.column)) db.exec(m.sql);
  db.exec("CREATE INDEX IF NOT EXISTS fits_kind ON fits (kind, seq)");
  const cache = new Map<string, StatementSync>();
  const sql = (text: string): StatementSync => {
    let s = cache.get(text);
    if (!s) cache.set(text, s = db.prepare(text));
    return s;
  };
  const one = (id: string): FitRecord | undefined => {
    const row = sql(`SELECT ${COLUMNS} FROM fits WHERE id = ?`).get(id) as Row | undefined;
    return row ? toRecord(row) : undefined;
  };
  const changed = (r: { changes: number | bigint }) => Number(r.changes) > 0;

  return {
    create(id, request: JobRequest) {
      sql("INSERT INTO fits (id, kind, name, status, created, request) VALUES (?, ?, ?, 'queued', ?, ?)")
        .run(id, kindOf(request), request.loaded.spec.name, now(), JSON.stringify(request));
      return Promise.resolve(one(id)!);
    },
    get: (id) => Promise.resolve(one(id)),
    request(id) {
      const row = sql("SELECT request FROM fits WHERE id = ?").get(id) as { request: string } | undefined;
      return Promise.resolve(row ? JSON.parse(row.request) as JobRequest : undefined);
    },
    plot(id) {
      const row = sql("SELECT svg FROM fits WHERE id = ?").get(id) as { svg: string | null } | undefined;
      return Promise.resolve(row?.svg ?? null);
    },
    list(limit, cursor, kind: JobKind = "fit") {
      const after = cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(cursor);
      const rows = sql(
        `SELECT seq, ${COLUMNS} FROM fits WHERE kind = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
      )
        .all(kind, Number.isFinite(after) ? after : 0, limit + 1) as unknown as (Row & { seq: number })[];
      const page = rows.slice(0, limit);
      const next = rows.length > limit ? String(page[page.length - 1].seq) : null;
      return Promise.resolve({ items: page.map(toRecord), next } satisfies FitPage);
    },
    start(id) {
      const r = sql(
        "UPDATE fits SET status = 'running', started = ?, attempts = attempts + 1 WHERE id = ? AND status = 'queued'",
      ).run(now(), id);
      return Promise.resolve(changed(r));
    },
    progress(id, p: FitProgressRecord | SearchProgressRecord) {
      sql("UPDATE fits SET progress = ? WHERE id = ? AND status = 'running'").run(JSON.stringify(p), id);
      return Promise.resolve();
    },
    finish(id, result, svg) {
      sql(
        "UPDATE fits SET status = 'done', finished = ?, result = ?, svg = ? WHERE id = ? AND status = 'running'",
      )
        .run(now(), JSON.stringify(result), svg, id);
      return Promise.resolve();
    },
    fail(id, error: FitErrorRecord) {
      sql(
        "UPDATE fits SET status = 'failed', finished = ?, error = ? WHERE id = ? AND status IN ('queued', 'running')",
      ).run(now(), JSON.stringify(error), id);
      return Promise.resolve();
    },
    cancel(id) {
      const r = sql(
        "UPDATE fits SET status = 'cancelled', finished = ? WHERE id = ? AND status IN ('queued', 'running')",
      ).run(now(), id);
      return Promise.resolve(changed(r));
    },
    recover() {
      sql("UPDATE fits SET status = 'queued', progress = NULL WHERE status = 'running'").run();
      const rows = sql("SELECT id FROM fits WHERE status = 'queued' ORDER BY seq").all() as unknown as {
        id: string;
      }[];
      return Promise.resolve(rows.map((r) => r.id));
    },
    close: () => db.close(),
  };
}
