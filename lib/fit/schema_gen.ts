/**
 * Generates schema/spec.schema.json, the JSON Schema of model specs, from the zod schema in
 * spec.ts (the one source of truth), for editors' completion and checking. Run it after
 * changing the schema: `deno run -A lib/fit/schema_gen.ts`; a test checks the file is current.
 */
import { z } from "../deps.ts";
import { specSchema } from "./spec.ts";

/** Where the generated schema lives. */
export const SPEC_SCHEMA_FILE: URL = new URL("../../schema/spec.schema.json", import.meta.url);

/**
 * The JSON Schema text of a spec as written (defaults optional), ending in a newline.
 *
 * @example
 * ```ts
 * JSON.parse(specJsonSchemaText()).title; // "dmci model spec"
 * ```
 */
export function specJsonSchemaText(): string {
  const schema = z.toJSONSchema(specSchema, { io: "input", target: "draft-2020-12" });
  return JSON.stringify(schema, null, 2) + "\n";
}

if (import.meta.main) {
  await Deno.mkdir(new URL(".", SPEC_SCHEMA_FILE), { recursive: true });
  await Deno.writeTextFile(SPEC_SCHEMA_FILE, specJsonSchemaText());
  console.log(`wrote ${SPEC_SCHEMA_FILE.pathname}`);
}
