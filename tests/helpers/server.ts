/**
 * Starts the fit server (server.ts) as a child process on 127.0.0.1 with the permissions
 * `deno task serve` uses (for a temporary data directory), and collects its JSON log lines.
 */
import { fileURLToPath } from "node:url";
import { serveFlags } from "../../lib/server/config.ts";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A server child process. */
export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** The `listening` line's fields. */
  readonly started: Record<string, unknown>;
  /** Every JSON line it printed on stdout so far. */
  readonly lines: Record<string, unknown>[];
  /** Sends the signal and waits for the process to end. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  /** Stops the server and removes its data directory. */
  dispose(): Promise<void>;
}

/**
 * Starts a server with `env` (DMCI_* variables) on a free port, in `dataDir` (default: a new
 * temporary directory), and waits until it listens.
 */
export async function startServerProcess(
  env: Record<string, string> = {},
  dataDir?: string,
): Promise<ServerProcess> {
  const dir = dataDir ?? await Deno.makeTempDir({ prefix: "dmci_server_" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...serveFlags(dir), "server.ts"],
    cwd: ROOT,
    env: { DMCI_PORT: "0", DMCI_DATA_DIR: dir, ...env },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  const { promise: listening, resolve, reject } = Promise.withResolvers<Record<string, unknown>>();
  let stderr = "";
  (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = JSON.parse(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        if (line.msg === "listening") resolve(line);
      }
    }
    reject(new Error(`the server ended before listening: ${stderr}`));
  })();
  const started = await listening;
  const port = started.port as number;
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    try {
      child.kill(signal);
    } catch { /* already ended */ }
    return await child.status;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir: dir,
    started,
    lines,
    stop,
    async dispose() {
      await stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Polls `check` every 50 ms until it returns a value other than undefined. */
export async function until<T>(check: () => Promise<T | undefined>, what: string, seconds = 120): Promise<T> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
