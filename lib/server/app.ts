/**
 * The HTTP API (Hono with @hono/zod-openapi): routes, validated by the schemas of
 * lib/server/schemas.ts, which also make /openapi.json. The routes know the store only through
 * its interface and the jobs only through the runner.
 */
import { DmciError, formatSpan } from "../errors.ts";
import { formatPath } from "../fit/spec.ts";
import {
  type Context,
  cors,
  createRoute,
  HTTPException,
  OpenAPIHono,
  secureHeaders,
  streamSSE,
  swaggerUI,
  z,
} from "./deps.ts";
import type { ServerConfig } from "./config.ts";
import { type FitRecord, type FitStore, isFinal, type JobKind } from "./store.ts";
import { EvalFailed, QueueFull, type Runner } from "./runner.ts";
import { fitRequest } from "./requests.ts";
import { runnableSearchFixtures, searchRequest } from "./search_requests.ts";
import { errorBody, limitBody, logRequests, requireToken } from "./security.ts";
import {
  AcceptedSchema,
  ErrorSchema,
  EvalBodySchema,
  EvalResultSchema,
  FitBodySchema,
  FitPageSchema,
  FitSchema,
  HealthSchema,
  IdParamSchema,
  ListQuerySchema,
  SearchBodySchema,
  SearchPageSchema,
  SearchSchema,
} from "./schemas.ts";
import { dashboard } from "./dashboard.tsx";

/** What the app is made of. */
export interface AppParts {
  readonly config: ServerConfig;
  readonly store: FitStore;
  readonly runner: Runner;
  readonly fixtures: readonly string[];
  /** The bundled search specs' names (`pendulum-search`, …). */
  readonly searchFixtures?: readonly string[];
  /** Where the request log goes (default: stdout). */
  readonly log?: (line: string) => void;
}

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});
const failure = (description: string) => json(ErrorSchema, description);

/** The /v1 routes need the bearer token when the server has DMCI_TOKEN set. */
const BEARER = [{ bearer: [] }];

const fitUrl = (id: string) => `/v1/fits/${id}`;
const searchUrl = (id: string) => `/v1/searches/${id}`;
const urlOf = (kind: JobKind, id: string) => (kind === "search" ? searchUrl(id) : fitUrl(id));
const view = (r: FitRecord) => ({ ...r, url: urlOf(r.kind, r.id) });

// ---------------------------------------------------------------------------------------
// Routes

/** What a POST of a job (fit or search) answers. */
const SUBMIT_RESPONSES = {
  202: json(AcceptedSchema, "Queued"),
  400: failure("Invalid request (the message names the JSON path)"),
  401: failure("Missing or wrong token"),
  413: failure("Body too large"),
  429: failure("Queue full; see Retry-After"),
};

const submitRoute = createRoute({
  method: "post",
  path: "/v1/fits",
  security: BEARER,
  summary: "Submit a fit",
  request: { body: { content: { "application/json": { schema: FitBodySchema } }, required: true } },
  responses: SUBMIT_RESPONSES,
});

/** What tells one kind of job's routes from another's. */
interface JobRouteKind {
  readonly base: string;
  readonly noun: string;
  readonly plural: string;
  readonly schema: z.ZodType;
  readonly page: z.ZodType;
  /** When "progress" events come: "while it runs", "after each round". */
  readonly progressWhen: string;
  /** The schema's name in the OpenAPI document (the "final" event's data). */
  readonly final: string;
}

/** The routes every kind of job has: one job, its event stream, cancel, and the list. */
function jobRoutes(k: JobRouteKind) {
  const missing = failure(`No such ${k.noun}`);
  const unauthorised = failure("Missing or wrong token");
  return {
    get: createRoute({
      method: "get",
      path: `${k.base}/{id}`,
      security: BEARER,
      summary: `A ${k.noun}'s status, progress, result or error`,
      request: { params: IdParamSchema },
      responses: { 200: json(k.schema, `The ${k.noun}`), 401: unauthorised, 404: missing },
    }),
    events: createRoute({
      method: "get",
      path: `${k.base}/{id}/events`,
      security: BEARER,
      summary: `Server-sent events of a ${k.noun}'s progress`,
      description: `Events "progress" ({id, status, progress}) ${k.progressWhen}, then one "final" (the ` +
        `${k.final}), then the end.`,
      request: { params: IdParamSchema },
      responses: {
        200: { content: { "text/event-stream": { schema: z.string() } }, description: "The event stream" },
        401: unauthorised,
        404: missing,
      },
    }),
    cancel: createRoute({
      method: "delete",
      path: `${k.base}/{id}`,
      security: BEARER,
      summary: `Cancel a queued or running ${k.noun}`,
      request: { params: IdParamSchema },
      responses: {
        200: json(k.schema, "Cancelled"),
        401: unauthorised,
        404: missing,
        409: failure("Already final"),
      },
    }),
    list: createRoute({
      method: "get",
      path: k.base,
      security: BEARER,
      summary: `List ${k.plural}, newest first`,
      request: { query: ListQuerySchema },
      responses: { 200: json(k.page, "A page"), 400: failure("Bad query"), 401: unauthorised },
    }),
  };
}

const fitRoutes = jobRoutes({
  base: "/v1/fits",
  noun: "fit",
  plural: "fits",
  schema: FitSchema,
  page: FitPageSchema,
  progressWhen: "while it runs",
  final: "Fit",
});

const searchRoutes = jobRoutes({
  base: "/v1/searches",
  noun: "search",
  plural: "searches",
  schema: SearchSchema,
  page: SearchPageSchema,
  progressWhen: "after each round",
  final: "Search",
});

const plotRoute = createRoute({
  method: "get",
  path: "/v1/fits/{id}/plot.svg",
  security: BEARER,
  summary: "The data-vs-fit plot of a done fit",
  request: { params: IdParamSchema },
  responses: {
    200: { content: { "image/svg+xml": { schema: z.string() } }, description: "SVG" },
    401: failure("Missing or wrong token"),
    404: failure("No such fit, or it has no plot"),
    409: failure("Not done yet"),
  },
});

const evalRoute = createRoute({
  method: "post",
  path: "/v1/eval",
  security: BEARER,
  summary: "Value and gradient of a program at θ",
  request: { body: { content: { "application/json": { schema: EvalBodySchema } }, required: true } },
  responses: {
    200: json(EvalResultSchema, "Value and gradient"),
    400: failure("Invalid request"),
    401: failure("Missing or wrong token"),
    413: failure("Body too large"),
    422: failure("The program failed (syntax, type, limit …)"),
    429: failure("Too many evaluations at once"),
  },
});

const searchSubmitRoute = createRoute({
  method: "post",
  path: "/v1/searches",
  security: BEARER,
  summary: "Submit a program search",
  description: "A search is a job like a fit: queued, run in a sandboxed worker (its candidates in nested " +
    "workers with no permissions), under a wall-time limit, re-queued after a restart.",
  request: { body: { content: { "application/json": { schema: SearchBodySchema } }, required: true } },
  responses: SUBMIT_RESPONSES,
});

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  summary: "Liveness and load",
  responses: { 200: json(HealthSchema, "OK") },
});

// ---------------------------------------------------------------------------------------
// The app

/** A zod issue list as one line naming each JSON path: `$.spec: expected record, received string`. */
function issuesMessage(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.slice(0, 5).map((i) => `${formatPath(i.path)}: ${i.message}`).join("; ");
}

/**
 * The server's Hono app.
 *
 * @example
 * ```ts
 * // Deno.serve({ port: 8787 }, makeApp({ config, store, runner, fixtures }).fetch);
 * ```
 */
export function makeApp(parts: AppParts): OpenAPIHono {
  const { config, store, runner, fixtures } = parts;
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (!result.success) return c.json(errorBody("spec", issuesMessage(result.error.issues)), 400);
    },
  });

  app.use("*", logRequests(parts.log));
  app.use("*", secureHeaders({ crossOriginEmbedderPolicy: false }));
  if (config.corsOrigins.length) app.use("*", cors({ origin: [...config.corsOrigins] }));
  if (config.token) app.use("/v1/*", requireToken(config.token));
  app.use("/v1/*", limitBody(config.bodyLimit));

  app.onError((e, c) => {
    // Hono's own errors (a malformed JSON body: 400), duck-typed: the validator's copy of the
    // class may not be the one this module imports.
    const status = e instanceof HTTPException || "getResponse" in e ? (e as HTTPException).status : 500;
    if (status < 500) {
      const message = status === 400 ? `$: the body is not valid JSON (${e.message})` : e.message;
      return c.json(errorBody("spec", message), status);
    }
    console.error(
      JSON.stringify({ time: new Date().toISOString(), msg: "internal error", error: String(e) }),
    );
    return c.json(errorBody("internal", "internal error"), 500);
  });
  app.notFound((c) => c.json(errorBody("spec", `no route ${c.req.method} ${c.req.path}`), 404));

  const noJob = (kind: JobKind, id: string) => errorBody("spec", `no ${kind} with id ${JSON.stringify(id)}`);
  const noFit = (id: string) => noJob("fit", id);
  /** The job `id` when it is of `kind` (a search is not found at /v1/fits/:id, nor a fit at /v1/searches/:id). */
  const jobOf = async (kind: JobKind, id: string) => {
    const r = await store.get(id);
    return r?.kind === kind ? r : undefined;
  };
  const submitted = (c: Context, kind: JobKind, submit: () => Promise<FitRecord>) =>
    submit().then(
      (record) => c.json({ id: record.id, url: urlOf(kind, record.id), status: "queued" as const }, 202),
      (e) => {
        if (!(e instanceof QueueFull)) throw e;
        c.header("Retry-After", String(e.retryAfter));
        return c.json(errorBody("limit", e.message), 429);
      },
    );
  const badRequest = (c: Context, e: unknown) => {
    if (e instanceof DmciError) {
      return c.json(errorBody(e.kind, e.message, e.span ? formatSpan(e.span) : null), 400);
    }
    throw e;
  };

  app.openapi(submitRoute, async (c) => {
    let request;
    try {
      request = await fitRequest(c.req.valid("json"), fixtures, config.limits);
    } catch (e) {
      return badRequest(c, e) as never;
    }
    return await submitted(c, "fit", () => runner.submit(request)) as never;
  });

  app.openapi(searchSubmitRoute, async (c) => {
    let request;
    try {
      request = await searchRequest(
        c.req.valid("json"),
        parts.searchFixtures ?? [],
        config.limits,
        config.search,
      );
    } catch (e) {
      return badRequest(c, e) as never;
    }
    return await submitted(c, "search", () => runner.submit(request)) as never;
  });

  const getJob = (kind: JobKind) => async (c: Context) => {
    const id = c.req.param("id")!;
    const record = await jobOf(kind, id);
    return record ? c.json(view(record), 200) : c.json(noJob(kind, id), 404);
  };

  const jobEvents = (kind: JobKind) => async (c: Context) => {
    const id = c.req.param("id")!;
    if (!(await jobOf(kind, id))) return c.json(noJob(kind, id), 404);
    return streamSSE(c, async (stream) => {
      let dirty = true;
      let wake: (() => void) | undefined;
      const unsubscribe = runner.subscribe(id, () => {
        dirty = true;
        wake?.();
      });
      stream.onAbort(() => wake?.());
      try {
        while (!stream.aborted) {
          if (!dirty) {
            const woke = await new Promise<boolean>((resolve) => {
              const timer = setTimeout(() => resolve(false), 15_000);
              wake = () => {
                clearTimeout(timer);
                resolve(true);
              };
            });
            wake = undefined;
            if (!woke) await stream.write(": keep-alive\n\n");
            continue;
          }
          dirty = false;
          const r = (await store.get(id))!;
          if (isFinal(r.status)) {
            await stream.writeSSE({ event: "final", data: JSON.stringify(view(r)) });
            break;
          }
          await stream.writeSSE({
            event: "progress",
            data: JSON.stringify({ id, status: r.status, progress: r.progress }),
          });
        }
      } finally {
        unsubscribe();
      }
    });
  };

  const cancelJob = (kind: JobKind) => async (c: Context) => {
    const id = c.req.param("id")!;
    const record = await jobOf(kind, id);
    if (!record) return c.json(noJob(kind, id), 404);
    if (!(await runner.cancel(id))) {
      return c.json(errorBody("spec", `the ${kind} is already ${record.status}`), 409);
    }
    return c.json(view((await store.get(id))!), 200);
  };

  const listJobs = (kind: JobKind) => async (c: Context) => {
    const { limit, cursor } = (c.req as unknown as { valid(t: "query"): { limit: number; cursor?: string } })
      .valid("query");
    const page = await store.list(limit, cursor, kind);
    return c.json({ items: page.items.map(view), next: page.next }, 200);
  };

  for (const [kind, routes] of [["fit", fitRoutes], ["search", searchRoutes]] as const) {
    app.openapi(routes.get, getJob(kind) as never);
    app.openapi(routes.events, jobEvents(kind) as never);
    app.openapi(routes.cancel, cancelJob(kind) as never);
    app.openapi(routes.list, listJobs(kind) as never);
  }

  app.openapi(plotRoute, async (c) => {
    const { id } = c.req.valid("param");
    const record = await jobOf("fit", id);
    if (!record) return c.json(noFit(id), 404);
    if (record.status !== "done") {
      return c.json(errorBody("spec", `the fit is ${record.status}, not done`), 409);
    }
    const svg = await store.plot(id);
    if (svg === null) return c.json(errorBody("spec", "this fit has no plot (its spec has no target)"), 404);
    return c.body(svg, 200, { "Content-Type": "image/svg+xml; charset=utf-8" }) as never;
  });

  app.openapi(evalRoute, async (c) => {
    const body = c.req.valid("json");
    try {
      const result = await runner.evaluate({
        ...body,
        fuel: config.limits.fuel,
        maxTensorSize: config.limits.maxTensorSize,
      });
      return c.json(result, 200);
    } catch (e) {
      if (e instanceof QueueFull) {
        c.header("Retry-After", String(e.retryAfter));
        return c.json(errorBody("limit", "too many evaluations at once"), 429);
      }
      if (e instanceof EvalFailed) return c.json({ error: e.error }, 422);
      throw e;
    }
  });

  app.openapi(healthRoute, (c) => c.json({ ok: true, ...runner.stats() }, 200));

  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "dmci fit server",
      version: "0.1.0",
      description: "Fits of dmci model specs, run in sandboxed workers.",
    },
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.get("/docs", swaggerUI({ url: "/openapi.json" }));
  let runnable: Promise<string[]> | null = null;
  app.get("/", async (c) => {
    runnable ??= runnableSearchFixtures(parts.searchFixtures ?? []);
    return c.html(dashboard(fixtures, await runnable));
  });
  return app;
}
