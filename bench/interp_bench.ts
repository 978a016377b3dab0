// `deno bench`: interpreted vs direct value+gradient per program and backend (direct is
// the baseline of each group, so deno bench prints the interpreted/direct ratio).
import { loadInterpCases } from "./interp_cases.ts";

for (const c of await loadInterpCases()) {
  const group = `interp-${c.name}-${c.backend}`;
  Deno.bench({ name: `${c.name} direct (${c.backend})`, group, baseline: true, fn: c.direct });
  Deno.bench({ name: `${c.name} interpreted (${c.backend})`, group, fn: c.interpreted });
}
