// lib/evaluator_source.ts must embed the current lib/evaluator.scm.
import assert from "node:assert/strict";
import { evaluatorModule } from "../scripts/embed_evaluator.ts";

Deno.test("lib/evaluator_source.ts embeds lib/evaluator.scm (run `deno task embed` after editing it)", async () => {
  const scm = await Deno.readTextFile(new URL("../lib/evaluator.scm", import.meta.url));
  const embedded = await Deno.readTextFile(new URL("../lib/evaluator_source.ts", import.meta.url));
  assert.equal(embedded, evaluatorModule(scm));
});
