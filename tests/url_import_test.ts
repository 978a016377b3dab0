/**
 * Tests that mod.ts imports cleanly by URL (DESIGN §4: no bare specifiers reach it): the repo
 * is served over HTTP on 127.0.0.1 and a script in a temporary folder outside the repo, run
 * with `deno run --no-config` (no import map, no lock file), imports mod.ts and takes a gradient.
 */
import assert from "node:assert/strict";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(new URL("../", import.meta.url)));

const CONTENT_TYPES: Record<string, string> = {
  ".ts": "application/typescript",
  ".js": "application/javascript",
  ".mjs": "application/javascript",
  ".json": "application/json",
};

/** One request the server answered: the path and the status it got. */
interface Served {
  readonly path: string;
  readonly status: number;
}

/** Serves the repo's files (nothing outside it) and records every request. */
function serveRepo(): { server: Deno.HttpServer<Deno.NetAddr>; served: Served[] } {
  const served: Served[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    const file = resolve(join(ROOT, path));
    let res: Response;
    if (!file.startsWith(ROOT + sep)) res = new Response("outside the repo", { status: 403 });
    else {
      try {
        const body = await Deno.readFile(file);
        const type = CONTENT_TYPES[extname(file)] ?? "text/plain";
        res = new Response(body, { headers: { "content-type": type } });
      } catch {
        res = new Response("not found", { status: 404 });
      }
    }
    served.push({ path, status: res.status });
    return res;
  });
  return { server, served };
}

const SCRIPT = (base: string): string => `
import { backendByName, interpretedValueAndGrad, loadProgram, valueAndGrad } from "${base}/mod.ts";
const prog = loadProgram("(define k 3.0) (* k k)", "square.scm");
const out = {};
for (const name of ["f64", "tfjs"]) out[name] = valueAndGrad(prog, await backendByName(name));
out.interpreted = interpretedValueAndGrad(prog, await backendByName("f64"));
console.log(JSON.stringify(out));
`;

Deno.test("mod.ts imported by URL from outside the repo gives value 9 and gradient 6 on f64, tfjs and interpreted", async () => {
  const { server, served } = serveRepo();
  const base = `http://127.0.0.1:${server.addr.port}`;
  const dir = await Deno.makeTempDir({ prefix: "dmci_url_import_" });
  try {
    assert.ok(!resolve(dir).startsWith(ROOT + sep), "the script must live outside the repo");
    await Deno.writeTextFile(join(dir, "main.ts"), SCRIPT(base));
    // The only permission is importing from this server: importing dmci and taking a
    // gradient must need no read, env or net access. `--reload` for the server's URLs: a
    // later run may get the same port, and must not reuse modules cached by an earlier one.
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        `--allow-import=127.0.0.1:${server.addr.port}`,
        `--reload=${base}/`,
        "main.ts",
      ],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `the script failed:\n${stderr}`);

    const result = JSON.parse(stdout.trim().split("\n").at(-1)!);
    assert.deepEqual(result.f64, { value: 9, grad: [6] });
    assert.deepEqual(result.interpreted, { value: 9, grad: [6] }, "the evaluator loads and runs by URL");
    assert.ok(Math.abs(result.tfjs.value - 9) <= 1e-5, `tfjs value ${result.tfjs.value}`);
    assert.equal(result.tfjs.grad.length, 1);
    assert.ok(Math.abs(result.tfjs.grad[0] - 6) <= 1e-5, `tfjs gradient ${result.tfjs.grad[0]}`);

    // Every module came from the repo, and none was missing (a missing one would have
    // failed the run, but the list names the culprit).
    const bad = served.filter((s) => s.status !== 200);
    assert.deepEqual(bad, [], `requests that failed: ${JSON.stringify(bad)}`);
    assert.ok(served.some((s) => s.path === "/mod.ts"));
    assert.ok(served.some((s) => s.path === "/lib/deps.ts"), "tfjs is reached through lib/deps.ts");
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
