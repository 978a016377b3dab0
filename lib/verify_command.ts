/**
 * The `verify` command of the CLI (DESIGN §5): argument parsing, progress on stderr, and
 * either a table per program with a summary line or one JSON document on stdout. The
 * checking itself lives in lib/verify.ts; this module only talks to the terminal.
 */
import { parseArgs } from "node:util";
import { DmciError } from "./errors.ts";
import { backendByName, DEFAULT_BACKEND } from "./backend/select.ts";
import { interpTolerance, TOLERANCES, type VerifyPair, verifyPaths } from "./verify.ts";

/** Usage of `verify`, for help texts. */
export const VERIFY_USAGE = `verify PATH… [--seeds N] [--backend NAME] [--no-trace] [--json]
  PATH are .scm verify programs or folders of them (searched recursively, sorted).
  --seeds N        seeds 0 … N-1 per program (default 1: the literals as written;
                   seed k > 0 scales each parameter by a reproducible factor in [0.9, 1.1])
  --backend NAME   backend of the direct and interpreted runs: tfjs (default), tfjs-wasm, f64;
                   the central-difference check always runs on f64
  --no-trace       on f64, skip the third check: the traced replay of the interpreted run
                   against the untraced one (seeds k > 0 replay seed 0's trace where its
                   guards hold; "trace" says replayed or recorded)
  --json           one JSON document on stdout: {"pairs": […], "summary": {…}}
  Exit code 1 when any pair fails.`;

/**
 * A usage mistake in the form node:util's parseArgs reports them (a TypeError with an
 * ERR_PARSE_ARGS code), so the CLI prints it as a usage error with exit code 2.
 */
function usageError(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" });
}

/** Fixed-width scientific notation, `-` for a missing number. */
function sci(x: number | null, digits = 2): string {
  return x === null ? "-" : x === 0 ? "0" : x.toExponential(digits);
}

/** A value with 10 significant digits, `-` when missing. */
function val(x: number | null): string {
  return x === null ? "-" : Number(x.toPrecision(10)).toString();
}

/** The table of one program's pairs, for the human output. */
export function formatProgramTable(file: string, pairs: readonly VerifyPair[]): string {
  const n = pairs[0]?.n_params ?? 0;
  const traced = pairs.some((p) => p.trace !== null);
  const head = [
    "seed",
    "value direct",
    "value interp",
    "max rel grad diff",
    ...(traced ? ["traced vs untraced", "trace"] : []),
    "fd err",
    "ok",
  ];
  const rows = pairs.map((p) => [
    String(p.seed),
    val(p.value_direct),
    val(p.value_interp),
    sci(p.max_rel_grad_diff),
    ...(traced ? [sci(p.max_rel_trace_diff), p.trace ?? "-"] : []),
    sci(p.fd_max_rel_err),
    p.ok ? "ok" : "FAIL",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    "  " + cells.map((c, i) => (i === cells.length - 1 ? c : c.padStart(widths[i]))).join("  ");
  const out = [`${file} (${n} parameter${n === 1 ? "" : "s"})`, line(head), ...rows.map(line)];
  for (const p of pairs) if (p.error) out.push(`  seed ${p.seed}: ${p.error}`);
  return out.join("\n");
}

/**
 * Runs `verify` with the command's arguments (after the word `verify`) and returns the
 * exit code: 0 when every pair is ok, 1 otherwise. Missing paths raise an `io` DmciError;
 * bad flags raise a parseArgs-style TypeError (a usage error for the CLI).
 *
 * @example
 * ```ts
 * const code = await verifyCommand(["fixtures/programs", "--seeds", "2", "--backend", "f64"]);
 * ```
 */
export async function verifyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      seeds: { type: "string", default: "1" },
      backend: { type: "string", default: DEFAULT_BACKEND },
      json: { type: "boolean", default: false },
      "no-trace": { type: "boolean", default: false },
    },
    allowPositionals: true,
  });
  if (positionals.length === 0) {
    throw usageError("verify: expected at least one PATH (a .scm file or a folder)");
  }
  const seeds = Number(values.seeds);
  if (!Number.isInteger(seeds) || seeds < 1) {
    throw usageError(`--seeds: expected a positive integer, got '${values.seeds}'`);
  }
  const backend = await backendByName(values.backend);
  const f64 = await backendByName("f64");
  const started = performance.now();
  const report = await verifyPaths(positionals, {
    backend,
    f64,
    seeds,
    trace: !values["no-trace"],
    onProgram: (file, pairs, i, total) => {
      const passed = pairs.filter((p) => p.ok).length;
      console.error(`verify [${i + 1}/${total}] ${file}: ${passed}/${pairs.length} ok`);
      if (!values.json) console.log(formatProgramTable(file, pairs) + "\n");
    },
  });
  if (report.pairs.length === 0) {
    throw new DmciError("io", `verify: no .scm files in ${positionals.join(", ")}`);
  }
  const { pairs, passed, failed } = report.summary;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.error(
    `verify: backend ${backend.name}, ${seeds} seed(s), ${seconds} s; tolerances: interpreted vs direct ` +
      `${
        interpTolerance(backend).toExponential()
      }, central differences ${TOLERANCES.fd.toExponential()} (relative)`,
  );
  if (values.json) console.log(JSON.stringify(report));
  else console.log(`${pairs} pairs, ${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}
