/**
 * Runs `cli.ts` as a subprocess, as a user would (`deno run -A cli.ts …`, no colours), and
 * returns its exit code and output.
 */

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

/** What a CLI run printed. */
export interface CliOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `deno run -A cli.ts ...args` (in `cwd` when given) and waits for it.
 *
 * @example
 * ```ts
 * const r = await runCli(["fit", "fixtures/specs/exponential_decay.json", "--json"]);
 * r.code; // 0
 * ```
 */
export async function runCli(args: readonly string[], cwd?: string): Promise<CliOutput> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--stack-size=4000", CLI, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
