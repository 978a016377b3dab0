/**
 * dmci against an outside Scheme: runs every program of fixtures/r7rs/ (or the .scm files
 * and folders given as arguments) in dmci on the f64 backend and in GNU Guile 3.0, and
 * prints one row per program (both values, whether they agree within 1e-12) and a summary.
 * Usage: `deno run -A bench/guile_compare.ts [PATH…]`; exits 1 if any program disagrees.
 */
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { loadProgram, runProgram } from "../lib/program.ts";
import { compareWritten, runInGuile } from "../tests/helpers/guile.ts";

/** Relative tolerance on f64 (absolute below 1), as in tests/guile_test.ts. */
const TOLERANCE = 1e-12;
/** Widest value column; longer values are cut with an ellipsis. */
const WIDTH = 48;

function scmFiles(paths: readonly string[]): string[] {
  return paths.flatMap((p) =>
    Deno.statSync(p).isDirectory
      ? [...Deno.readDirSync(p)].filter((e) => e.isFile && e.name.endsWith(".scm")).map((e) =>
        `${p}/${e.name}`
      ).sort()
      : [p]
  );
}

function cut(s: string, width: number): string {
  const one = s.replace(/\s+/g, " ");
  return one.length <= width ? one.padEnd(width) : `${one.slice(0, width - 1)}…`;
}

const args = Deno.args.length ? [...Deno.args] : [new URL("../fixtures/r7rs", import.meta.url).pathname];
const files = scmFiles(args);

const guileStart = performance.now();
const guile = await runInGuile(files);
const guileMs = performance.now() - guileStart;

let dmciMs = 0;
const rows = files.map((file, i) => {
  const start = performance.now();
  let dmci: string;
  let dmciOk = true;
  try {
    dmci = runProgram(loadProgram(Deno.readTextFileSync(file), file, { model: false }), f64Backend);
  } catch (e) {
    dmci = `error: ${e instanceof Error ? e.message : String(e)}`;
    dmciOk = false;
  }
  dmciMs += performance.now() - start;
  const g = guile[i];
  const guileValue = g.ok ? g.value : `error: ${g.error}`;
  let diff: string | undefined = "error";
  if (dmciOk && g.ok) {
    try {
      diff = compareWritten(dmci, g.value, TOLERANCE);
    } catch (e) {
      diff = e instanceof Error ? e.message : String(e);
    }
  }
  return { name: file.split("/").pop()!, dmci, guile: guileValue, diff };
});

const nameWidth = Math.max(7, ...rows.map((r) => r.name.length));
console.log(`${"program".padEnd(nameWidth)}  ${"dmci (f64)".padEnd(WIDTH)}  ${"guile".padEnd(WIDTH)}  agree`);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(nameWidth)}  ${cut(r.dmci, WIDTH)}  ${cut(r.guile, WIDTH)}  ${r.diff ? "NO" : "yes"}`,
  );
}
const disagreeing = rows.filter((r) => r.diff);
for (const r of disagreeing) console.log(`\n${r.name}: ${r.diff}\n  dmci:  ${r.dmci}\n  guile: ${r.guile}`);
console.log(
  `\n${rows.length} programs, ${rows.length - disagreeing.length} agree ` +
    `(within ${TOLERANCE}; dmci ${dmciMs.toFixed(0)} ms in-process, guile ${guileMs.toFixed(0)} ms ` +
    `for one process; ratio ${(dmciMs / guileMs).toFixed(2)})`,
);
if (disagreeing.length) Deno.exit(1);
