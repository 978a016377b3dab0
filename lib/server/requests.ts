/**
 * From a POST /v1/fits body to what a job runs: a spec with its program text and inline data,
 * so that the job's worker reads no file. A spec sent inline names no file at all; a bundled
 * fixture spec (fixtures/specs/NAME.json) is read here, its CSV turned into inline columns.
 * Data are checked here (errors name the JSON path); the program is only read by the worker.
 */
import { basename, join } from "node:path";
import { DmciError } from "../errors.ts";
import {
  type LoadedSpec,
  loadSpec,
  neededColumns,
  readTextFile,
  resolveFrom,
  specFromData,
} from "../fit/spec.ts";
import { type Table, tableFromColumns, tableFromCsv } from "../fit/data.ts";
import type { FitRequest, JobLimits } from "./store.ts";

/** The directory of the bundled fixture specs. */
export const FIXTURE_DIR = new URL("../../fixtures/specs/", import.meta.url);

/** How the bundled search specs are named: fixtures/specs/NAME-search.json. */
export const SEARCH_SUFFIX = "-search";

/** The base names of fixtures/specs/*.json that are search specs (or, `search` false, are not), sorted. */
function bundledSpecNames(search: boolean): string[] {
  return [...Deno.readDirSync(FIXTURE_DIR)]
    .filter((e) => e.isFile && e.name.endsWith(".json"))
    .map((e) => basename(e.name, ".json"))
    .filter((name) => name.endsWith(SEARCH_SUFFIX) === search)
    .sort();
}

/** The names of the bundled fit specs (`exponential_decay`, …; not the `*-search` ones), sorted. */
export function fixtureNames(): string[] {
  return bundledSpecNames(false);
}

/** The names of the bundled search specs (`pendulum-search`, …), sorted. */
export function searchFixtureNames(): string[] {
  return bundledSpecNames(true);
}

/** The body of POST /v1/fits, after the route's schema has checked its shape. */
export interface FitBody {
  /** A spec object (inline program and data, or data in `csv`). */
  readonly spec?: Record<string, unknown>;
  /** CSV text (a header row, then rows) for an inline spec without `data.columns`. */
  readonly csv?: string;
  /** The name of a bundled fixture spec. */
  readonly fixture?: string;
  /** Tighter limits than the server's. */
  readonly limits?: Partial<JobLimits>;
}

/** A table's columns as plain arrays (the inline data of a spec sent to a job). */
export function columnsOf(t: Table): Record<string, number[]> {
  return Object.fromEntries([...t.columns].map(([name, values]) => [name, Array.from(values)]));
}

/** The loaded spec with its data as inline columns (`table` holding exactly the needed ones). */
function withColumns(loaded: LoadedSpec, table: Table): LoadedSpec {
  const data = { columns: columnsOf(table), missing: loaded.spec.data.missing };
  return { ...loaded, spec: { ...loaded.spec, data } };
}

/** Throws the `$.fixture` error unless `name` is one of the bundled `names`. */
export function checkFixture(name: string, names: readonly string[]): void {
  if (!names.includes(name)) {
    throw new DmciError(
      "spec",
      `$.fixture: expected one of ${names.map((n) => JSON.stringify(n)).join(", ")}, got ${
        JSON.stringify(name)
      }`,
    );
  }
}

/** A bundled fixture spec, read with its program and CSV. */
async function fixtureSpec(name: string, names: readonly string[]): Promise<LoadedSpec> {
  checkFixture(name, names);
  const loaded = await loadSpec(join(FIXTURE_DIR.pathname, `${name}.json`));
  const { csv, columns, missing } = loaded.spec.data;
  if (columns !== undefined) {
    return withColumns(loaded, tableFromColumns(columns, neededColumns(loaded.spec), missing));
  }
  const file = resolveFrom(loaded.dir, csv!);
  return withColumns(
    loaded,
    tableFromCsv(await readTextFile(file), file, neededColumns(loaded.spec), missing),
  );
}

/**
 * `read(raw, "$.spec")` (a spec reader), its errors' paths made paths of the body: "$.spec: $.name …"
 * becomes "$.spec.name …".
 */
export function atBodyPath<T>(read: (raw: unknown, label: string) => T, raw: unknown): T {
  try {
    return read(raw, "$.spec");
  } catch (e) {
    if (e instanceof DmciError && e.message.startsWith("$.spec: $")) {
      throw new DmciError(e.kind, "$.spec" + e.message.slice("$.spec: $".length), e.span);
    }
    throw e;
  }
}

/** `specFromData` for the body's `spec`, its errors' paths made paths of the body (`$.spec.name`). */
const specFromBody = (raw: unknown): LoadedSpec => atBodyPath(specFromData, raw);

/** An inline spec; its data inline columns or the body's CSV text, never a file. */
function inlineSpec(raw: Record<string, unknown>, csv: string | undefined): LoadedSpec {
  const data = raw.data as Record<string, unknown> | undefined;
  if (data !== null && typeof data === "object" && "csv" in data) {
    throw new DmciError(
      "spec",
      '$.spec.data.csv: a spec sent to the server names no file; send "columns", CSV text in $.csv, or a bundled $.fixture',
    );
  }
  if (csv === undefined) {
    const loaded = specFromBody(raw);
    const { columns, missing } = loaded.spec.data;
    return withColumns(loaded, tableFromColumns(columns!, neededColumns(loaded.spec), missing));
  }
  if (data !== undefined && data !== null && typeof data === "object" && "columns" in data) {
    throw new DmciError("spec", "$.csv: give the data once: $.csv or $.spec.data.columns, not both");
  }
  // Validate the spec with a placeholder table, then load the needed columns from the CSV text.
  const missing = (data as { missing?: unknown } | undefined)?.missing;
  const probe = specFromBody({ ...raw, data: { columns: { _: [0] }, ...(missing ? { missing } : {}) } });
  const table = tableFromCsv(csv, "$.csv", neededColumns(probe.spec), probe.spec.data.missing);
  return withColumns(probe, table);
}

/**
 * What a job runs for a request body: exactly one of `spec` and `fixture`, limits no looser than
 * the server's. Throws a `spec` or `data` error naming the JSON path.
 *
 * @example
 * ```ts
 * const req = await fitRequest({ fixture: "exponential_decay" }, fixtureNames(), { seconds: 60, fuel: 1e8, maxTensorSize: 1e6 });
 * req.loaded.spec.data.columns; // { time: [...], y: [...] }
 * ```
 */
export async function fitRequest(
  body: FitBody,
  fixtures: readonly string[],
  max: JobLimits,
): Promise<FitRequest> {
  if ((body.spec === undefined) === (body.fixture === undefined)) {
    throw new DmciError(
      "spec",
      '$: expected exactly one of "spec" (a spec object) and "fixture" (a bundled spec name)',
    );
  }
  if (body.fixture !== undefined && body.csv !== undefined) {
    throw new DmciError("spec", '$.csv: CSV text goes with an inline "spec", not with a fixture');
  }
  const loaded = body.fixture !== undefined
    ? await fixtureSpec(body.fixture, fixtures)
    : inlineSpec(body.spec!, body.csv);
  const pick = (k: keyof JobLimits) => Math.min(max[k], body.limits?.[k] ?? max[k]);
  return {
    loaded,
    limits: { seconds: pick("seconds"), fuel: pick("fuel"), maxTensorSize: pick("maxTensorSize") },
  };
}
