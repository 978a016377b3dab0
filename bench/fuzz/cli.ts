/**
 * The differential fuzzer (`deno task fuzz [--count N] [--seed S] [--guile] [--malformed N]
 * [--timeout MS] [--workers W] [--out DIR] [--json]`): seeded random programs
 * (bench/fuzz/generate.ts) checked in workers (bench/fuzz/worker.ts) across the run modes of
 * bench/fuzz/check.ts, a worker that takes longer than the timeout on one program being a
 * hang; optionally compared with Guile; and malformed inputs (bench/fuzz/malformed.ts). Every
 * crash, hang or mismatch is written to DIR as a shrunk reproducer. Exits 1 on any finding.
 */
import { parseArgs } from "node:util";
import { checkProgram, COUNTED_KINDS, emptyTally, type Finding, type TraceTally } from "./check.ts";
import { generateProgram } from "./generate.ts";
import { checkMalformed, mutant } from "./malformed.ts";
import { shrink, shrinkText } from "./shrink.ts";
import { compareWithGuile, type GuileDisagreement } from "./guile.ts";
import type { WorkRequest, WorkResult } from "./worker.ts";

/** Options of one fuzz run. */
export interface FuzzOptions {
  readonly mode: "programs" | "malformed";
  readonly count: number;
  readonly seed: number;
  readonly workers: number;
  readonly timeoutMs: number;
  readonly written: boolean;
}

/** What a run found, per seed. */
export interface FuzzRun {
  readonly findings: { seed: number; finding: Finding }[];
  readonly hangs: number[];
  /** Seeds whose only disagreement is a kink or round-off (check.ts `COUNTED_KINDS`), with it. */
  readonly counted: { seed: number; finding: Finding }[];
  readonly written: Map<number, string>;
  /** How the traced calls of all programs were answered. */
  readonly tally: TraceTally;
  readonly ms: number;
}

const CHUNK = 250;

/**
 * Checks seeds `seed … seed+count−1` in worker threads; a seed whose check takes longer than
 * the timeout is a hang (its worker is stopped and a new one goes on after it).
 */
export async function fuzz(o: FuzzOptions): Promise<FuzzRun> {
  const t0 = performance.now();
  const queue: [number, number][] = [];
  for (let s = o.seed; s < o.seed + o.count; s += CHUNK) {
    queue.push([s, Math.min(s + CHUNK, o.seed + o.count)]);
  }
  const findings: FuzzRun["findings"] = [];
  const hangs: number[] = [];
  const counted: FuzzRun["counted"] = [];
  const written = new Map<number, string>();
  const tally = emptyTally();
  let done = 0;
  const slot = async (): Promise<void> => {
    while (queue.length) {
      const [from, to] = queue.shift()!;
      const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
      let next = from;
      await new Promise<void>((resolve) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const arm = () => {
          clearTimeout(timer);
          timer = setTimeout(() => {
            worker.terminate();
            hangs.push(next);
            if (next + 1 < to) queue.unshift([next + 1, to]);
            resolve();
          }, o.timeoutMs);
        };
        worker.onmessage = (e: MessageEvent<WorkResult>) => {
          const r = e.data;
          if (r.seed < 0) {
            clearTimeout(timer);
            worker.terminate();
            resolve();
            return;
          }
          next = r.seed + 1;
          done++;
          if (r.finding && COUNTED_KINDS.has(r.finding.kind)) {
            counted.push({ seed: r.seed, finding: r.finding });
          } else if (r.finding) findings.push({ seed: r.seed, finding: r.finding });
          if (r.written !== undefined) written.set(r.seed, r.written);
          if (r.tally) {
            tally.calls += r.tally.calls;
            tally.replays += r.tally.replays;
            tally.recordings += r.tally.recordings;
          }
          arm();
        };
        worker.onerror = (e) => {
          e.preventDefault();
          clearTimeout(timer);
          worker.terminate();
          findings.push({
            seed: next,
            finding: { kind: "crash", mode: "worker", detail: String(e.message) },
          });
          if (next + 1 < to) queue.unshift([next + 1, to]);
          resolve();
        };
        arm();
        worker.postMessage({ mode: o.mode, from, to, written: o.written } satisfies WorkRequest);
      });
      if (done % 5000 < CHUNK) console.error(`fuzz: ${o.mode}: ${done} of ${o.count} checked`);
    }
  };
  await Promise.all(Array.from({ length: o.workers }, slot));
  return { findings, hangs, counted, written, tally, ms: performance.now() - t0 };
}

function count<T>(xs: readonly T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      count: { type: "string", default: "1000" },
      seed: { type: "string", default: "1" },
      guile: { type: "boolean", default: false },
      malformed: { type: "string", default: "0" },
      timeout: { type: "string", default: "30000" },
      workers: { type: "string", default: "2" },
      out: { type: "string", default: "fuzz-out" },
      json: { type: "boolean", default: false },
    },
  });
  const seed = Number(values.seed), workers = Number(values.workers), timeoutMs = Number(values.timeout);
  const n = Number(values.count), nm = Number(values.malformed);
  Deno.mkdirSync(values.out, { recursive: true });
  const report: Record<string, unknown> = { seed };
  let failed = 0;

  if (n > 0) {
    const run = await fuzz({ mode: "programs", count: n, seed, workers, timeoutMs, written: values.guile });
    for (const { seed: s, finding } of run.findings) {
      const { forms, text } = generateProgram(s);
      const path = `${values.out}/${finding.kind}-${s}.scm`;
      const head = `; ${finding.kind} in ${finding.mode}: ${finding.detail.replace(/\n/g, " ")}\n`;
      console.error(`fuzz: seed ${s}: ${head.slice(2, 300).trim()}`);
      Deno.writeTextFileSync(path, head + text); // as generated, until shrunk
      const small = shrink(forms, finding, (t) => checkProgram(t, `fuzz-${s}.scm`, s));
      Deno.writeTextFileSync(path, head + small);
    }
    for (const s of run.hangs) {
      Deno.writeTextFileSync(
        `${values.out}/hang-${s}.scm`,
        `; hang (over ${timeoutMs} ms)\n${generateProgram(s).text}`,
      );
    }
    failed += run.findings.length + run.hangs.length;
    report.programs = {
      count: n,
      seconds: +(run.ms / 1000).toFixed(1),
      findings: count(run.findings, (f) => `${f.finding.kind} (${f.finding.mode})`),
      hangs: run.hangs.length,
      counted: count(run.counted, (f) => f.finding.kind),
      traced: run.tally,
    };
    if (values.guile) {
      const t0 = performance.now();
      const dir = Deno.makeTempDirSync({ prefix: "dmci-fuzz-guile-" });
      const disagreements: GuileDisagreement[] = [];
      const seeds = [...run.written.keys()].sort((a, b) => a - b);
      for (let i = 0; i < seeds.length; i += 2000) {
        const batch = seeds.slice(i, i + 2000).map((s) => ({
          seed: s,
          text: generateProgram(s).text,
          written: run.written.get(s)!,
        }));
        disagreements.push(...await compareWithGuile(batch, dir));
        console.error(`fuzz: Guile ${Math.min(i + 2000, seeds.length)} of ${seeds.length}`);
      }
      Deno.removeSync(dir, { recursive: true });
      for (const d of disagreements.slice(0, 200)) {
        Deno.writeTextFileSync(
          `${values.out}/guile-${d.kind}-${d.seed}.scm`,
          `; Guile ${d.kind}: ${d.detail}\n${generateProgram(d.seed).text}`,
        );
      }
      report.guile = {
        compared: seeds.length,
        seconds: +((performance.now() - t0) / 1000).toFixed(1),
        disagreements: count(disagreements, (d) => d.kind),
      };
    }
  }
  if (nm > 0) {
    const run = await fuzz({ mode: "malformed", count: nm, seed, workers, timeoutMs, written: false });
    for (const { seed: s, finding } of run.findings) {
      const small = shrinkText(
        mutant(s).text,
        (t) => checkMalformed(t, `fuzz-${s}.scm`)?.kind === finding.kind,
      );
      Deno.writeTextFileSync(
        `${values.out}/malformed-${s}.txt`,
        `${finding.mode}: ${finding.detail}\n----\n${small.slice(0, 20_000)}`,
      );
    }
    for (const s of run.hangs) {
      Deno.writeTextFileSync(`${values.out}/malformed-hang-${s}.txt`, mutant(s).text.slice(0, 20_000));
    }
    failed += run.findings.length + run.hangs.length;
    report.malformed = {
      count: nm,
      seconds: +(run.ms / 1000).toFixed(1),
      mutations: count(Array.from({ length: nm }, (_, i) => mutant(seed + i).mutation), (m) => m),
      findings: count(run.findings, (f) => `${f.finding.kind} (${f.finding.mode})`),
      hangs: run.hangs.length,
    };
  }
  console.log(values.json ? JSON.stringify(report) : JSON.stringify(report, null, 2));
  if (failed) console.error(`fuzz: ${failed} finding(s), reproducers in ${values.out}/`);
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
