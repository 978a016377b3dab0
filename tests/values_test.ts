/**
 * Tests of `write` (lib/values.ts): symbols that would not read back as themselves are
 * written `|…|` as R7RS writes them, and what is written reads back as the same symbol.
 */
import assert from "node:assert/strict";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { loadProgram, runProgram } from "../lib/program.ts";
import { Sym, write } from "../lib/values.ts";

Deno.test("symbols that need bars are written |…| (issue 13)", () => {
  const cases: [string, string][] = [
    ["a b", "|a b|"],
    ["", "||"],
    ["1.5", "|1.5|"],
    ["a|b", "|a\\|b|"],
    ["(x)", "|(x)|"],
    ["tab\there", "|tab\\x9;here|"],
    ["list->vector", "list->vector"],
    ["+", "+"],
    ["...", "..."],
  ];
  for (const [name, want] of cases) assert.equal(write(Sym.of(name)), want, name);
  assert.equal(runProgram(loadProgram('(string->symbol "a b")', "s.scm"), f64Backend), "|a b|");
});
