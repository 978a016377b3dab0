// The generated language reference must list every primitive and match docs/language.md.
import assert from "node:assert/strict";
import { languageReference } from "../lib/reference.ts";
import { PRIMITIVES } from "../lib/primitives.ts";

Deno.test("language reference lists every primitive of the table once", () => {
  const md = languageReference();
  for (const p of PRIMITIVES) {
    assert.ok(md.includes(`\`${p.signature}\``), `missing ${p.name}`);
  }
  assert.equal(new Set(PRIMITIVES.map((p) => p.name)).size, PRIMITIVES.length, "duplicate primitive names");
});

Deno.test("docs/language.md is up to date with the primitive table (run `deno task docs`)", async () => {
  const onDisk = await Deno.readTextFile(new URL("../docs/language.md", import.meta.url));
  assert.equal(onDisk, languageReference());
});
