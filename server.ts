/**
 * The fit server's entry point (DESIGN: `server.ts`): `deno task serve`. Configuration comes from
 * DMCI_* environment variables (`deno run -A cli.ts serve --help` lists them, the routes and the
 * permissions). Opens the store, re-queues what a previous process left unfinished, serves the
 * API and the dashboard, and prints one JSON line `{"msg": "listening", …}` when ready.
 */
import { configFromEnv, type ServerConfig } from "./lib/server/config.ts";
import { openSqliteStore } from "./lib/server/sqlite_store.ts";
import { Runner } from "./lib/server/runner.ts";
import { fixtureNames, searchFixtureNames } from "./lib/server/requests.ts";
import { makeApp } from "./lib/server/app.ts";

/** A running server. */
export interface RunningServer {
  readonly port: number;
  readonly finished: Promise<void>;
  /** Stops serving and terminates the workers (running fits are re-queued on the next start). */
  shutdown(): Promise<void>;
}

/**
 * Starts the server with `config`.
 *
 * @example
 * ```ts
 * const server = await startServer(configFromEnv((name) => Deno.env.get(name)));
 * ```
 */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const store = openSqliteStore(config.dataDir);
  const runner = new Runner(store, {
    workers: config.workers,
    queue: config.queue,
    evalSeconds: config.evalSeconds,
    llm: config.llm,
  });
  const requeued = await runner.recover();
  const app = makeApp({
    config,
    store,
    runner,
    fixtures: fixtureNames(),
    searchFixtures: searchFixtureNames(),
  });
  const { promise: ready, resolve } = Promise.withResolvers<number>();
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: ({ port }) => resolve(port),
  }, app.fetch);
  const port = await ready;
  console.log(JSON.stringify({
    time: new Date().toISOString(),
    msg: "listening",
    url: `http://${config.host}:${port}/`,
    port,
    dataDir: config.dataDir,
    requeued,
    token: config.token !== undefined,
  }));
  return {
    port,
    finished: server.finished,
    async shutdown() {
      runner.close();
      await server.shutdown();
      store.close();
    },
  };
}

if (import.meta.main) {
  const server = await startServer(configFromEnv((name) => Deno.env.get(name)));
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => server.shutdown().then(() => Deno.exit(0)));
  }
  await server.finished;
}
