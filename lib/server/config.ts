/**
 * The server's configuration, from environment variables (each with a default), and the text of
 * `serve --help`, which documents them with the routes and the permissions.
 */
import { join } from "node:path";
import { DEFAULT_LIMITS } from "../compile/runtime.ts";
import { DmciError } from "../errors.ts";
import type { JobLimits } from "./store.ts";
import type { LlmOptions } from "../search/proposers/llm.ts";
import type { SearchBounds } from "./search_requests.ts";

/** Everything the server is configured by. */
export interface ServerConfig {
  readonly host: string;
  /** 0: any free port (the server prints the one it got). */
  readonly port: number;
  readonly dataDir: string;
  /** Bearer token every /v1 request must carry; undefined: no token needed. */
  readonly token: string | undefined;
  readonly workers: number;
  readonly queue: number;
  /** The most a job may use (a request may ask for less). */
  readonly limits: JobLimits;
  readonly evalSeconds: number;
  /** Largest request body, bytes. */
  readonly bodyLimit: number;
  /** Origins allowed by CORS; empty: CORS off. */
  readonly corsOrigins: readonly string[];
  /** The most a search may use (a request may ask for less); `llm`: whether an endpoint is configured. */
  readonly search: SearchBounds;
  /** The LLM endpoint of `proposer: "llm"` searches (DMCI_LLM_*), when both its URL and model are set. */
  readonly llm: LlmOptions | undefined;
}

/** The default data directory: `$XDG_DATA_HOME/dmci`, else the platform's user data directory. */
export function defaultDataDir(env: (name: string) => string | undefined): string {
  const home = env("HOME") ?? env("USERPROFILE") ?? ".";
  if (env("XDG_DATA_HOME")) return join(env("XDG_DATA_HOME")!, "dmci");
  if (Deno.build.os === "darwin") return join(home, "Library", "Application Support", "dmci");
  if (Deno.build.os === "windows") return join(env("LOCALAPPDATA") ?? home, "dmci");
  return join(home, ".local", "share", "dmci");
}

/** The environment variables, their defaults and meaning (for --help and the README). */
export const ENV_VARS: readonly (readonly [string, string, string])[] = [
  ["DMCI_HOST", "127.0.0.1", "address to listen on"],
  ["DMCI_PORT", "8787", "port (0: any free port)"],
  ["DMCI_DATA_DIR", "$XDG_DATA_HOME/dmci or ~/.local/share/dmci", "where fits.sqlite is kept"],
  ["DMCI_TOKEN", "(none)", "if set, /v1/* needs 'Authorization: Bearer <token>'"],
  ["DMCI_WORKERS", "2", "jobs (fits, searches) running at once (one sandboxed Web Worker each)"],
  ["DMCI_QUEUE", "100", "jobs waiting at most; beyond it a POST answers 429 + Retry-After"],
  ["DMCI_JOB_SECONDS", "300", "wall-time limit of a fit (a request may ask for less)"],
  ["DMCI_EVAL_SECONDS", "5", "wall-time limit of POST /v1/eval"],
  ["DMCI_FUEL", String(DEFAULT_LIMITS.fuel), "evaluation steps per run of the program"],
  ["DMCI_MAX_TENSOR", "1000000", "largest number of elements of a tensor"],
  ["DMCI_BODY_LIMIT", "4194304", "largest request body in bytes (beyond: 413)"],
  ["DMCI_CORS_ORIGINS", "(none: CORS off)", "comma-separated origins allowed by CORS"],
  ["DMCI_SEARCH_EVALUATIONS", "500", "most candidates a search job may evaluate"],
  ["DMCI_SEARCH_MINUTES", "10", "most wall-clock minutes a search job may run"],
  ["DMCI_LLM_BASE_URL", "(none)", 'with DMCI_LLM_MODEL: the endpoint of proposer "llm" searches'],
  ["DMCI_LLM_MODEL", "(none)", 'the model of proposer "llm" searches (else only "mutate")'],
  ["DMCI_LLM_API_KEY", "(none)", "its API key (a local server ignores it)"],
  ["DMCI_LLM_TEMPERATURE", "0.7", "its sampling temperature"],
];

/**
 * The configuration from the environment; a malformed number is a `spec` error naming the variable.
 *
 * @example
 * ```ts
 * const config = configFromEnv((name) => ({ DMCI_PORT: "0" } as Record<string, string>)[name]);
 * config.port; // 0
 * ```
 */
export function configFromEnv(env: (name: string) => string | undefined): ServerConfig {
  const num = (name: string, dflt: number, min: number): number => {
    const text = env(name);
    if (text === undefined || text === "") return dflt;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) {
      throw new DmciError("spec", `${name}: expected a number >= ${min}, got '${text}'`);
    }
    return n;
  };
  const int = (name: string, dflt: number, min: number) => {
    const n = num(name, dflt, min);
    if (!Number.isInteger(n)) throw new DmciError("spec", `${name}: expected an integer, got '${env(name)}'`);
    return n;
  };
  const llm = llmFromEnv(env);
  return {
    host: env("DMCI_HOST") || "127.0.0.1",
    port: int("DMCI_PORT", 8787, 0),
    dataDir: env("DMCI_DATA_DIR") || defaultDataDir(env),
    token: env("DMCI_TOKEN") || undefined,
    workers: int("DMCI_WORKERS", 2, 1),
    queue: int("DMCI_QUEUE", 100, 1),
    limits: {
      seconds: num("DMCI_JOB_SECONDS", 300, 0.1),
      fuel: int("DMCI_FUEL", DEFAULT_LIMITS.fuel, 1),
      maxTensorSize: int("DMCI_MAX_TENSOR", 1_000_000, 1),
    },
    evalSeconds: num("DMCI_EVAL_SECONDS", 5, 0.1),
    bodyLimit: int("DMCI_BODY_LIMIT", 4 * 1024 * 1024, 1),
    corsOrigins: (env("DMCI_CORS_ORIGINS") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    search: {
      evaluations: int("DMCI_SEARCH_EVALUATIONS", 500, 1),
      minutes: num("DMCI_SEARCH_MINUTES", 10, 0.01),
      llm: llm !== undefined,
    },
    llm,
  };
}

/** The LLM endpoint from DMCI_LLM_*, when both the base URL and the model are set. */
function llmFromEnv(env: (name: string) => string | undefined): LlmOptions | undefined {
  const baseURL = env("DMCI_LLM_BASE_URL"), model = env("DMCI_LLM_MODEL");
  if (!baseURL || !model) return undefined;
  try {
    new URL(baseURL);
  } catch {
    throw new DmciError("spec", `DMCI_LLM_BASE_URL: expected a URL, got '${baseURL}'`);
  }
  const t = env("DMCI_LLM_TEMPERATURE");
  const temperature = t ? Number(t) : undefined;
  if (temperature !== undefined && !(temperature >= 0)) {
    throw new DmciError("spec", `DMCI_LLM_TEMPERATURE: expected a number >= 0, got '${t}'`);
  }
  const apiKey = env("DMCI_LLM_API_KEY") || undefined;
  return {
    baseURL,
    model,
    ...(apiKey ? { apiKey } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
  };
}

/** The environment variables the server reads (DMCI_* and those of the default data directory). */
export const SERVER_ENV = [
  ...ENV_VARS.map(([name]) => name),
  "HOME",
  "USERPROFILE",
  "XDG_DATA_HOME",
  "LOCALAPPDATA",
];

/**
 * The Deno flags the server runs with: the narrowest that work. `deno task serve` spells them
 * out for the default data directory (tests/server_test.ts checks that the two agree).
 *
 * @example
 * ```ts
 * serveFlags("/var/lib/dmci", "127.0.0.1"); // ["--unstable-worker-options", "--allow-net=127.0.0.1", …]
 * ```
 */
export function serveFlags(dataDir: string, host = "127.0.0.1", llmBaseURL?: string): string[] {
  const net = [host];
  if (llmBaseURL) {
    const u = new URL(llmBaseURL);
    const h = u.port ? `${u.hostname}:${u.port}` : u.hostname;
    if (!net.includes(u.hostname)) net.push(h);
  }
  return [
    "--unstable-worker-options",
    `--allow-net=${net.join(",")}`,
    `--allow-env=${SERVER_ENV.join(",")}`,
    `--allow-read=fixtures,lib,${dataDir}`,
    `--allow-write=${dataDir}`,
  ];
}

/** The permissions `deno task serve` runs with, and why each is needed. */
export const SERVE_PERMISSIONS = `permissions (deno task serve; run from the repository root):
  --unstable-worker-options      jobs run in Web Workers started with { permissions: "none" }
  --allow-net=127.0.0.1          listen on the loopback address (with DMCI_HOST, give that host;
                                 with DMCI_LLM_BASE_URL, its host:port too, for "llm" search jobs)
  --allow-env=DMCI_*,HOME,…      the variables above, and HOME / XDG_DATA_HOME for the data directory
  --allow-read=fixtures,lib,DIR  bundled fixture specs, the workers' modules, the data directory
  --allow-write=DIR              the data directory (fits.sqlite and its WAL)
  DIR is $HOME/.local/share/dmci in the task; with another DMCI_DATA_DIR (or DMCI_HOST) use
  'deno run -A cli.ts serve', which starts server.ts with exactly these flags for that directory.
  The workers get none of these: no file, network, environment or subprocess access (an "llm"
  search job's worker may reach the LLM endpoint's host:port and nothing else; its candidates are
  calibrated in nested workers with no permissions).`;

/** Usage of `serve`. */
export const SERVE_USAGE = `usage: deno task serve         (= deno run <permissions below> server.ts)
       deno run -A cli.ts serve  (starts server.ts with the permissions below for DMCI_DATA_DIR)

The fit server: clients post a spec with its data (or a program search) and get the fit (or the
search's best programs) back, with live progress.

routes:
  POST   /v1/fits               {"spec": {...}} with inline data.columns, or {"spec": {...}, "csv": "t,y\\n..."},
                                or {"fixture": "exponential_decay"} (a bundled spec); optional "limits":
                                {"seconds", "fuel", "maxTensorSize"} (no looser than the server's)
                                → 202 {"id", "url", "status"}; 400 (names the JSON path), 413, 429 + Retry-After
  GET    /v1/fits               list, newest first: ?limit=N (1-100, default 20) &cursor=NEXT
  GET    /v1/fits/:id           status (queued|running|done|failed|cancelled), progress {step, loss, ...},
                                result (the document 'deno task fit --json' prints) or error {kind, message, place}
  GET    /v1/fits/:id/events    server-sent events: "progress" events, then one "final" event, then the end
  GET    /v1/fits/:id/plot.svg  the data-vs-fit plot of a done fit (409 before)
  DELETE /v1/fits/:id           cancel (terminates the job's worker); 409 if already final
  POST   /v1/searches           program search jobs, in the same store and sandbox as fits:
                                {"fixture": "pendulum-search"} (a bundled fixtures/specs/*-search.json) or
                                {"spec": {...}} (a search spec with inline data.columns and seeds as
                                {"text": ...}); optional "evaluations", "minutes" (no more than
                                DMCI_SEARCH_EVALUATIONS / _MINUTES), "seed", "proposer": "mutate" (default;
                                "llm" only with DMCI_LLM_BASE_URL and DMCI_LLM_MODEL), "limits"
                                → 202 {"id", "url", "status"}; 400 (names the JSON path), 413, 429
  GET    /v1/searches           list, newest first: ?limit=N&cursor=NEXT
  GET    /v1/searches/:id       status, progress {evaluations, budget, best, complexity, bestId, rejected,
                                seconds}, result (the document 'deno task search --json' prints) or error
  GET    /v1/searches/:id/events  server-sent events, as for fits
  DELETE /v1/searches/:id       cancel (terminates the job's worker and its candidates' workers)
  POST   /v1/eval               {"program": "(define k 3.0) (* k k)", "theta": [2], "mode": "direct"|"interpreted",
                                "backend": "f64"|"tfjs", "inputs": {...}} → {"value", "gradient", "params"}
  GET    /health                {"ok": true, running, queued, ...}
  GET    /openapi.json          the OpenAPI 3.1 document;   GET /docs  interactive docs (Swagger UI)
  GET    /                      the dashboard

errors: {"error": {"kind", "message", "place"}}; 400 bad request, 401 missing or wrong token, 404 unknown
  fit or search, 409 wrong state, 413 body too large, 422 the program failed (eval), 429 queue full. No stack traces.

environment:
${ENV_VARS.map(([name, dflt, what]) => `  ${name.padEnd(24)} ${what} (default ${dflt})`).join("\n")}

${SERVE_PERMISSIONS}`;
