/**
 * From a POST /v1/searches body to what a search job runs: a search spec whose data are inline
 * columns and whose seeds are texts, and the task's material, made here (the only file reads: a
 * bundled search spec, its seed programs and its data, all under fixtures/), so the job's worker
 * reads no file. The budget is bounded by the server's; the `llm` proposer only when the server
 * has an LLM endpoint. Errors name the JSON path.
 */
import { join, relative, resolve } from "node:path";
import { DmciError } from "../errors.ts";
import { loadTable } from "../fit/data.ts";
import { neededColumns, resolveFrom, type Spec } from "../fit/spec.ts";
import { type LoadedSearch, loadSearchSpec, searchSpecFromData } from "../search/spec.ts";
import { taskMaterial } from "../search/tasks/mod.ts";
import { atBodyPath, checkFixture, columnsOf, FIXTURE_DIR } from "./requests.ts";
import type { JobLimits, SearchRequest } from "./store.ts";

/** The body of POST /v1/searches, after the route's schema has checked its shape. */
export interface SearchBody {
  /** A search spec object: inline data columns, seeds as {"text": …}. */
  readonly spec?: Record<string, unknown>;
  /** The name of a bundled search spec. */
  readonly fixture?: string;
  readonly evaluations?: number;
  readonly minutes?: number;
  readonly seed?: number;
  readonly proposer?: "mutate" | "llm";
  /** Tighter limits than the server's (fuel and tensor size of every candidate run; job seconds). */
  readonly limits?: Partial<JobLimits>;
}

/** The server's bounds of a search. */
export interface SearchBounds {
  /** Most candidates a search may evaluate. */
  readonly evaluations: number;
  /** Most wall-clock minutes a search may run. */
  readonly minutes: number;
  /** Whether the server has an LLM endpoint (then `proposer: "llm"` is allowed). */
  readonly llm: boolean;
}

const ROOT = new URL("../../fixtures/", import.meta.url).pathname;

/** True when `path` lies under the bundled fixtures. */
function insideFixtures(path: string): boolean {
  const r = relative(ROOT, resolve(path));
  return r !== "" && !r.startsWith("..") && !r.startsWith("/");
}

/** False for a search whose battery cells lie outside the bundled fixtures (the server cannot read them). */
function runsHere(loaded: LoadedSearch): boolean {
  const bat = loaded.spec.search.battery;
  return !bat || insideFixtures(resolveFrom(loaded.dir, bat.data));
}

/**
 * The bundled search specs the server can run (the dashboard's search form offers these): every
 * one of `names` but those whose battery cells lie outside the bundled fixtures.
 *
 * @example
 * ```ts
 * await runnableSearchFixtures(searchFixtureNames()); // ["pendulum-search"]
 * ```
 */
export async function runnableSearchFixtures(names: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const name of names) {
    if (runsHere(await loadSearchSpec(join(FIXTURE_DIR.pathname, `${name}.json`)))) out.push(name);
  }
  return out;
}

/** `searchSpecFromData` for the body's `spec`, its errors' paths made paths of the body. */
const searchSpecFromBody = (raw: unknown): LoadedSearch => atBodyPath(searchSpecFromData, raw);

/** The search with its data as inline columns (the needed ones), so nothing is read again. */
async function withInlineData(s: LoadedSearch): Promise<LoadedSearch> {
  if (s.spec.search.task === "battery" || s.spec.data === undefined) return s;
  const spec = s.spec as unknown as Spec;
  if (spec.data.csv !== undefined && !insideFixtures(resolveFrom(s.dir, spec.data.csv))) {
    throw new DmciError("spec", `$.fixture: the data of ${s.file} lie outside the bundled fixtures`);
  }
  const table = await loadTable(spec.data, s.dir, neededColumns(spec));
  return { ...s, spec: { ...s.spec, data: { columns: columnsOf(table), missing: spec.data.missing } } };
}

/**
 * What a search job runs for a request body: exactly one of `spec` and `fixture`; evaluations and
 * minutes no more than the server's bounds; limits no looser than the server's. Throws a `spec`
 * or `data` error naming the JSON path.
 *
 * @example
 * ```ts
 * const req = await searchRequest({ fixture: "pendulum-search", evaluations: 20 }, searchFixtureNames(),
 *   { seconds: 300, fuel: 1e7, maxTensorSize: 1e6 }, { evaluations: 500, minutes: 10, llm: false });
 * req.material.kind; // "fit"
 * ```
 */
export async function searchRequest(
  body: SearchBody,
  fixtures: readonly string[],
  max: JobLimits,
  bounds: SearchBounds,
): Promise<SearchRequest> {
  if ((body.spec === undefined) === (body.fixture === undefined)) {
    throw new DmciError(
      "spec",
      '$: expected exactly one of "spec" (a search spec object) and "fixture" (a bundled search spec name)',
    );
  }
  const proposer = body.proposer ?? "mutate";
  if (proposer === "llm" && !bounds.llm) {
    throw new DmciError(
      "spec",
      '$.proposer: this server has no LLM endpoint (DMCI_LLM_BASE_URL and DMCI_LLM_MODEL); use "mutate"',
    );
  }
  let loaded: LoadedSearch;
  if (body.fixture !== undefined) {
    checkFixture(body.fixture, fixtures);
    loaded = await loadSearchSpec(join(FIXTURE_DIR.pathname, `${body.fixture}.json`));
    const bat = loaded.spec.search.battery;
    if (bat && !runsHere(loaded)) {
      throw new DmciError(
        "spec",
        `$.fixture: the battery cells of ${body.fixture} (${bat.data}) lie outside the bundled fixtures; ` +
          "run that search with deno task search --data DIR",
      );
    }
  } else {
    const raw = body.spec!;
    const data = raw.data as Record<string, unknown> | undefined;
    if (data !== null && typeof data === "object" && "csv" in data) {
      throw new DmciError("spec", '$.spec.data.csv: a spec sent to the server names no file; send "columns"');
    }
    loaded = searchSpecFromBody(raw);
    if (loaded.spec.search.task === "battery") {
      throw new DmciError(
        "spec",
        '$.spec.search.task: a battery search reads a folder of cells; the server runs "fit" and "program" searches sent inline',
      );
    }
  }
  loaded = await withInlineData(loaded);
  const b = loaded.spec.search;
  const minutes = Math.min(body.minutes ?? b.minutes ?? bounds.minutes, bounds.minutes);
  const limits: JobLimits = {
    // The search stops itself at its minutes; the wall-time limit is the backstop (one candidate's
    // time more), or the request's own, if shorter. (DMCI_JOB_SECONDS bounds fits, not searches.)
    seconds: Math.min(body.limits?.seconds ?? Infinity, minutes * 60 + b.seconds + 30),
    fuel: Math.min(max.fuel, body.limits?.fuel ?? max.fuel, b.fuel),
    maxTensorSize: Math.min(max.maxTensorSize, body.limits?.maxTensorSize ?? max.maxTensorSize, b.max_tensor),
  };
  const material = await taskMaterial(loaded);
  return {
    kind: "search",
    loaded,
    material: { ...material, limits: { fuel: limits.fuel, maxTensor: limits.maxTensorSize } },
    evaluations: Math.min(body.evaluations ?? b.evaluations, bounds.evaluations),
    minutes,
    seed: body.seed ?? loaded.spec.optimizer.seed,
    proposer,
    limits,
  };
}
