// The bundled fixture data are exactly what scripts/make_fixtures.ts makes (none stale).
import assert from "node:assert/strict";

Deno.test("fixtures/data matches scripts/make_fixtures.ts --check", async () => {
  const script = new URL("../scripts/make_fixtures.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, "--check"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout));
});
