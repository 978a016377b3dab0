/**
 * The command line (DESIGN §5): `run`, `repl`, and the commands later issues add.
 * Every command takes --json (one JSON document on stdout, progress on stderr) and
 * exits non-zero on failure; errors print as one line with kind and file:line:col.
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { DmciError } from "./lib/errors.ts";
import { backendByName, DEFAULT_BACKEND } from "./lib/backend/select.ts";
import { loadProgram, runProgram } from "./lib/program.ts";
import { isIncomplete, Session } from "./lib/session.ts";
import { DEFAULT_LIMITS, type Limits } from "./lib/compile/runtime.ts";
import { VERIFY_USAGE, verifyCommand } from "./lib/verify_command.ts";
import { FIT_USAGE, fitCommand } from "./lib/fit/command.ts";
import { BATTERY_USAGE, batteryBenchCommand } from "./lib/domains/battery_command.ts";
import { ENSO_USAGE, ensoBenchCommand } from "./lib/domains/enso_command.ts";
import { SERVE_USAGE, serveCommand } from "./lib/server/command.ts";
import { SEARCH_USAGE, searchCommand } from "./lib/search/command.ts";

const USAGE = `dmci — differentiable meta-circular interpretation

usage: deno run -A cli.ts COMMAND [options]

commands:
  fit [SPEC.json]  fit a model spec (default: the bundled exponential decay); writes JSON and SVG to --out
  run FILE.scm     print the value of the program's last expression (Scheme write syntax)
  repl             read-eval-print loop
  bench battery    the battery capacity-fade benchmark (bench battery --help)
  bench enso       the El Niño Kalman-filter benchmark: gradient vs gradient-free (bench enso --help)
  serve            the fit server: HTTP API, sandboxed fit jobs, dashboard (serve --help)
  search SPEC.json program-and-parameter co-search (search --help)
  verify PATH…     value and gradient, direct vs through the evaluator vs central differences
                   (--seeds N: seed 0 is the literals as written; see verify --help)

options:
  --backend NAME   tfjs (default), tfjs-wasm or f64
  --fuel N         evaluation step limit (default ${DEFAULT_LIMITS.fuel})
  --max-depth N    non-tail recursion depth limit (default ${DEFAULT_LIMITS.maxDepth})
  --json           print one JSON document on stdout
  -h, --help       this text`;

/** A usage mistake: printed with the usage hint, exit code 2. */
class UsageError extends Error {}

function limitsFrom(values: { fuel?: string; "max-depth"?: string }): Limits {
  const num = (flag: string, v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) {
      throw new UsageError(`--${flag}: expected a positive integer, got '${v}'`);
    }
    return n;
  };
  return {
    fuel: num("fuel", values.fuel, DEFAULT_LIMITS.fuel),
    maxDepth: num("max-depth", values["max-depth"], DEFAULT_LIMITS.maxDepth),
  };
}

const COMMON = {
  backend: { type: "string", default: DEFAULT_BACKEND },
  fuel: { type: "string" },
  "max-depth": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

async function runCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: COMMON, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError("run: expected exactly one FILE.scm");
  const file = positionals[0];
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new DmciError("io", `cannot read ${file}: ${e instanceof Error ? e.message : e}`);
  }
  const backend = await backendByName(values.backend);
  const value = runProgram(loadProgram(text, file), backend, { limits: limitsFrom(values) });
  if (values.json) console.log(JSON.stringify({ file, backend: backend.name, value }));
  else console.log(value);
}

async function replCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: COMMON, allowPositionals: false });
  const backend = await backendByName(values.backend);
  const session = new Session(backend, limitsFrom(values));
  const interactive = Deno.stdin.isTerminal();
  const decoder = new TextDecoder();
  let pending = "";
  let buffered = "";
  const prompt = () =>
    interactive && Deno.stdout.writeSync(new TextEncoder().encode(pending ? "... " : "dmci> "));
  prompt();
  for await (const chunk of Deno.stdin.readable) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      pending += buffered.slice(0, nl + 1);
      buffered = buffered.slice(nl + 1);
      if (isIncomplete(pending)) continue;
      const input = pending;
      pending = "";
      if (input.trim() !== "") {
        try {
          const out = session.eval(input);
          if (out !== "") console.log(out);
        } catch (e) {
          if (!(e instanceof DmciError)) throw e;
          console.log(e.toString());
        }
      }
      prompt();
    }
  }
  if ((pending + buffered).trim() !== "") {
    try {
      const out = session.eval(pending + buffered);
      if (out !== "") console.log(out);
    } catch (e) {
      if (!(e instanceof DmciError)) throw e;
      console.log(e.toString());
    }
  }
}

async function benchCommand(args: string[]): Promise<number> {
  const [which, ...rest] = args;
  if (which === "battery") return await batteryBenchCommand(rest);
  if (which === "enso") return await ensoBenchCommand(rest);
  throw new UsageError(`bench: expected a benchmark name (battery, enso), got '${which ?? ""}'`);
}

/** Each handler returns its exit code (or nothing for 0). */
const COMMANDS: Record<string, (args: string[]) => Promise<number | void>> = {
  run: runCommand,
  repl: replCommand,
  verify: verifyCommand,
  fit: fitCommand,
  bench: benchCommand,
  serve: serveCommand,
  search: searchCommand,
};

/** Runs the CLI with the given arguments; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  const handler = COMMANDS[command];
  const json = rest.includes("--json");
  try {
    if (!handler) throw new UsageError(`unknown command '${command}'`);
    if (rest.includes("--help") || rest.includes("-h")) {
      const usage = command === "verify"
        ? VERIFY_USAGE
        : command === "fit"
        ? FIT_USAGE
        : command === "bench" && rest[0] === "battery"
        ? BATTERY_USAGE
        : command === "bench" && rest[0] === "enso"
        ? ENSO_USAGE
        : command === "serve"
        ? SERVE_USAGE
        : command === "search"
        ? SEARCH_USAGE
        : USAGE;
      console.log(usage);
      return 0;
    }
    return (await handler(rest)) ?? 0;
  } catch (e) {
    if (
      e instanceof UsageError ||
      (e instanceof TypeError && "code" in e && String(e.code).startsWith("ERR_PARSE_ARGS"))
    ) {
      console.error(`usage error: ${e.message} (see --help)`);
      return 2;
    }
    if (!(e instanceof DmciError)) throw e;
    if (json) {
      console.log(JSON.stringify({ error: { kind: e.kind, message: e.message, span: e.span ?? null } }));
    }
    console.error(e.toString());
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main(Deno.args);
