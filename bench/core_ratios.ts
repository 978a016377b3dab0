/**
 * The core benchmarks as one table (`deno run -A bench/core_ratios.ts [--rounds N]`): ms per
 * value+gradient of each case on each variant, and the ratios the performance goals name
 * (program/hand-written on tfjs; tfjs/f64). Variants are timed in interleaved rounds and
 * summarised by the median, so that load from other processes skews no single variant.
 */
import { loadCases, type Variant } from "./core_cases.ts";

/** Goals: compiled-program overhead over hand-written tfjs, and f64's speed-up on (a). */
const MAX_OVERHEAD = 1.3;
const MIN_F64_SPEEDUP = 20;

/** Median ms per evaluation of each variant, over `rounds` interleaved rounds of ≥ 25 ms each. */
function time(variants: readonly Variant[], rounds: number): number[] {
  const once = (v: Variant): number => {
    const t0 = performance.now();
    v.run();
    return performance.now() - t0;
  };
  // Warm-up: until the JIT has settled (≥ 5 runs and ≥ 0.2 s each); it also sizes a round.
  const reps = variants.map((v) => {
    let n = 0, spent = 0;
    for (; n < 5 || spent < 200; n++) spent += once(v);
    return Math.max(1, Math.ceil(25 / (spent / n)));
  });
  const samples: number[][] = variants.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < variants.length; j++) {
      const i = (j + r) % variants.length; // rotate the order: no variant always runs first
      const t0 = performance.now();
      for (let k = 0; k < reps[i]; k++) variants[i].run();
      samples[i].push((performance.now() - t0) / reps[i]);
    }
  }
  return samples.map((s) => s.sort((a, b) => a - b)[s.length >> 1]);
}

function row(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
}

const verdict = (ok: boolean): string => (ok ? "met" : "NOT met");
const ms = (x: number): string => x.toFixed(x < 10 ? 3 : 1);

async function main(): Promise<void> {
  const at = Deno.args.indexOf("--rounds");
  const rounds = at >= 0 ? Number(Deno.args[at + 1]) : 15;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds: expected a positive integer");
  const cases = await loadCases();
  const widths = [22, 12, 12, 12, 16, 10];
  console.log(row(["case", "hand tfjs", "prog tfjs", "prog f64", "prog/hand tfjs", "tfjs/f64"], widths));
  console.log(row(["", "ms", "ms", "ms", "", ""], widths));
  const goals: string[] = [];
  for (const c of cases) {
    const [hand, tfjs, f64] = time([c.hand, c.tfjs, c.f64], rounds);
    const overhead = tfjs / hand, speedup = tfjs / f64;
    const cells = [c.name, ms(hand), ms(tfjs), ms(f64), `${overhead.toFixed(2)}×`, `${speedup.toFixed(1)}×`];
    console.log(row(cells, widths));
    goals.push(
      `${c.name}: program on tfjs ${overhead.toFixed(2)}× hand-written (goal ≤ ${MAX_OVERHEAD}×): ` +
        verdict(overhead <= MAX_OVERHEAD),
    );
    if (c.name.startsWith("recurrence")) {
      goals.push(
        `${c.name}: f64 ${speedup.toFixed(1)}× faster than tfjs (goal ≥ ${MIN_F64_SPEEDUP}×): ` +
          verdict(speedup >= MIN_F64_SPEEDUP),
      );
    }
  }
  console.log(`\nms: median of ${rounds} interleaved rounds, per value+gradient evaluation`);
  for (const g of goals) console.log(g);
}

if (import.meta.main) await main();
