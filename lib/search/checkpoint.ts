/**
 * The search's files that make it survive a crash: history.jsonl (one record per line, appended
 * as records are applied, fsynced at each checkpoint) and checkpoint.json (the state at a record
 * count, written atomically: to a temporary file, fsynced, renamed over the old one). A resume
 * restores the checkpoint and replays the history records after it; a torn last line (a kill in
 * the middle of a write) is cut off, so it is neither kept nor repeated as a complete record.
 */
import { join } from "node:path";
import { DmciError } from "../errors.ts";
import type { DatabaseSnapshot } from "./database.ts";
import type { HistoryRecord } from "./controller.ts";

/** What checkpoint.json holds. */
export interface Checkpoint {
  readonly version: 1;
  readonly spec: string;
  readonly seed: number;
  /** Records applied when it was written. */
  readonly count: number;
  /** Seconds of search so far (over every run of it). */
  readonly elapsed: number;
  readonly db: DatabaseSnapshot;
  readonly recentErrors: { text: string; message: string }[];
  readonly rejected: Record<string, number>;
  readonly progress: [number, number, number][];
}

/**
 * Writes `text` to `path` atomically: a temporary file in the same folder, fsynced, renamed.
 *
 * @example
 * ```ts
 * await writeAtomic("out/checkpoint.json", JSON.stringify(checkpoint));
 * ```
 */
export async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    const bytes = new TextEncoder().encode(text);
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
    await f.sync();
  } finally {
    f.close();
  }
  await Deno.rename(tmp, path);
}

/** The appending writer of history.jsonl. */
export class HistoryFile {
  private constructor(private readonly file: Deno.FsFile) {}

  /** Opens (creating) `dir/history.jsonl` for appending. */
  static async open(dir: string): Promise<HistoryFile> {
    return new HistoryFile(await Deno.open(join(dir, "history.jsonl"), { append: true, create: true }));
  }

  /** Appends records, each as one line in one write. */
  async append(records: readonly HistoryRecord[]): Promise<void> {
    for (const r of records) {
      const bytes = new TextEncoder().encode(JSON.stringify(r) + "\n");
      let off = 0;
      while (off < bytes.length) off += await this.file.write(bytes.subarray(off));
    }
  }

  /** Flushes to disk. */
  async sync(): Promise<void> {
    await this.file.sync();
  }

  close(): void {
    this.file.close();
  }
}

/**
 * Reads `dir/history.jsonl`: every complete record, in order. A torn last line is cut off the
 * file. Records must be numbered 1, 2, …; anything else is an `io` error.
 */
export async function readHistory(dir: string): Promise<HistoryRecord[]> {
  const path = join(dir, "history.jsonl");
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const end = text.lastIndexOf("\n") + 1;
  if (end < text.length) await Deno.truncate(path, new TextEncoder().encode(text.slice(0, end)).length);
  const records = text.slice(0, end).split("\n").filter((l) => l !== "").map((l) =>
    JSON.parse(l) as HistoryRecord
  );
  records.forEach((r, i) => {
    if (r.n !== i + 1) throw new DmciError("io", `${path}: record ${i + 1} is numbered ${r.n}`);
  });
  return records;
}

/** Reads `dir/checkpoint.json`, or null when there is none. */
export async function readCheckpoint(dir: string): Promise<Checkpoint | null> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, "checkpoint.json"))) as Checkpoint;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new DmciError("io", `${join(dir, "checkpoint.json")}: ${e instanceof Error ? e.message : e}`);
  }
}
