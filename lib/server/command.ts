/**
 * The `serve` command: starts server.ts in a child Deno process with the narrowest permissions
 * (lib/server/config.ts `serveFlags`) for the configured data directory, and waits for it.
 */
import { configFromEnv, SERVE_USAGE, serveFlags } from "./config.ts";

export { SERVE_USAGE };

/** Runs `serve`; returns the server's exit code. */
export async function serveCommand(_args: string[]): Promise<number> {
  const config = configFromEnv((name) => Deno.env.get(name));
  const root = new URL("../../", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...serveFlags(config.dataDir, config.host, config.llm?.baseURL), "server.ts"],
    cwd: root,
    stdin: "null",
  }).spawn();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => child.kill(signal));
  }
  return (await child.status).code;
}
