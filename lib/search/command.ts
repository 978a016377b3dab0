/**
 * The `search` command: parse the flags, run (or resume) the search, print the best program and
 * the Pareto front (or, with --json, one JSON document). Progress goes to stderr.
 */
import { parseArgs } from "node:util";
import { DmciError } from "../errors.ts";
import { loadSearchSpec } from "./spec.ts";
import { runSearch } from "./search.ts";
import { programJson, scoreName } from "./outputs.ts";
import { PROPOSER_NAMES } from "./proposers/mod.ts";

/** Usage of the search command. */
export const SEARCH_USAGE = `usage: deno task search SPEC.json [--proposer ${
  PROPOSER_NAMES.join("|")
}] [--minutes M]
                        [--evaluations N] [--workers N] [--seed S] [--out DIR] [--resume DIR]
                        [--data DIR] [--json]

Program-and-parameter co-search on a search spec (a fit spec plus a "search" block). Writes
DIR/best.scm, best.json, pareto.json, history.jsonl, checkpoint.json and SVG plots (DIR defaults
to out/search-NAME). --resume DIR continues a search in DIR. --data DIR: a battery search's cells.`;

function count(name: string, v: string | undefined, integer = true): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!(x > 0) || (integer && !Number.isInteger(x))) {
    throw new DmciError(
      "spec",
      `--${name}: expected a positive ${integer ? "integer" : "number"}, got '${v}'`,
    );
  }
  return x;
}

/** Runs `search` with CLI arguments; returns the exit code. */
export async function searchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      proposer: { type: "string", default: "mutate" },
      minutes: { type: "string" },
      evaluations: { type: "string" },
      workers: { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
      resume: { type: "string" },
      data: { type: "string" },
      json: { type: "boolean", default: false },
    },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new DmciError("spec", "search: expected one SPEC.json");
  if (values.seed !== undefined && !/^\d+$/.test(values.seed)) {
    throw new DmciError("spec", `--seed: expected an integer >= 0, got '${values.seed}'`);
  }
  const loaded = await loadSearchSpec(positionals[0]);
  const out = values.resume ?? values.out ?? `out/search-${loaded.spec.name}`;
  const tty = Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  let last = 0;
  const r = await runSearch(loaded, {
    out,
    resume: values.resume !== undefined,
    proposer: values.proposer,
    evaluations: count("evaluations", values.evaluations),
    minutes: count("minutes", values.minutes, false),
    workers: count("workers", values.workers),
    seed: values.seed === undefined ? undefined : Number(values.seed),
    data: values.data,
    onProgress: (line, final) => {
      const now = performance.now();
      if (tty) Deno.stderr.writeSync(enc.encode(`\r${line}   `));
      else if (final || now - last > 10_000) {
        last = now;
        Deno.stderr.writeSync(enc.encode(line + "\n"));
      }
    },
  });
  if (tty) Deno.stderr.writeSync(enc.encode("\n"));
  const best = r.state.db.best();
  const pareto = r.state.db.pareto();
  if (values.json) {
    console.log(JSON.stringify({
      best: best ? programJson(best) : null,
      pareto: pareto.map(programJson),
      evaluations: r.state.count,
      seconds: r.seconds,
      rejected: r.state.rejected,
      test: r.test,
      out,
    }));
    return 0;
  }
  const lines = [
    `${loaded.spec.name}: ${r.state.count} evaluations in ${r.seconds.toFixed(1)} s; rejected ${
      JSON.stringify(r.state.rejected)
    }`,
  ];
  if (best) {
    lines.push(`best (#${best.id}): ${scoreName(loaded)} ${best.score}, complexity ${best.complexity}`);
    if (r.test) lines.push(`test rows (${r.test.rows}, never seen by the search): NMSE ${r.test.nmse}`);
    lines.push(best.fittedText!.trimEnd());
    lines.push("Pareto front (complexity: score):");
    for (const e of pareto) lines.push(`  ${e.complexity}: ${e.score}  #${e.id}`);
  } else lines.push("no candidate was accepted");
  lines.push(...r.files.map((f) => `wrote ${f}`));
  console.log(lines.join("\n"));
  return 0;
}
