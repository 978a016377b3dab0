/**
 * The API's zod schemas: they validate requests and responses and produce the OpenAPI 3.1
 * document (/openapi.json). The spec itself is validated by lib/fit/spec.ts's schema (its JSON
 * Schema is schema/spec.schema.json); here it is an object.
 */
import { z } from "./deps.ts";

/** A failure: the DmciError's kind, message and place. */
export const ErrorSchema = z.object({
  error: z.object({
    kind: z.string().openapi({ example: "spec" }),
    message: z.string().openapi({ example: "$.spec.optimizer.steps: expected a positive integer, got -3" }),
    place: z.string().nullable().openapi({ description: "file:line:col, when known" }),
  }),
}).openapi("Error");

const LimitsSchema = z.strictObject({
  seconds: z.number().positive().optional().openapi({ description: "wall-time limit, seconds" }),
  fuel: z.int().positive().optional().openapi({ description: "evaluation steps per run of the program" }),
  maxTensorSize: z.int().positive().optional().openapi({ description: "largest number of tensor elements" }),
}).openapi("Limits");

/** The body of POST /v1/fits. */
export const FitBodySchema = z.strictObject({
  spec: z.record(z.string(), z.unknown()).optional().openapi({
    description: 'A model spec (schema/spec.schema.json) with an inline program ({"text": …}) and ' +
      "inline data.columns, or with its data in `csv`. It names no file.",
  }),
  csv: z.string().optional().openapi({ description: "CSV text (header row, then rows) for `spec`." }),
  fixture: z.string().optional().openapi({
    description: "A bundled spec's name instead of `spec`.",
    example: "exponential_decay",
  }),
  limits: LimitsSchema.optional(),
}).openapi("FitRequest");

/** The answer of POST /v1/fits. */
export const AcceptedSchema = z.object({
  id: z.string(),
  url: z.string().openapi({ example: "/v1/fits/0b9c…" }),
  status: z.literal("queued"),
}).openapi("Accepted");

const ProgressSchema = z.object({
  restart: z.int(),
  restarts: z.int(),
  step: z.int(),
  steps: z.int(),
  loss: z.number().nullable(),
}).openapi("Progress");

/** A fit job. */
export const FitSchema = z.object({
  id: z.string(),
  kind: z.enum(["fit", "search"]),
  url: z.string(),
  name: z.string(),
  status: z.enum(["queued", "running", "done", "failed", "cancelled"]),
  created: z.string(),
  started: z.string().nullable(),
  finished: z.string().nullable(),
  attempts: z.int().openapi({ description: "times started (a restart after a crash starts it again)" }),
  progress: ProgressSchema.nullable(),
  result: z.record(z.string(), z.unknown()).nullable().openapi({
    description:
      "The results document `deno task fit --json` prints (params with standard errors, metrics, …).",
  }),
  error: ErrorSchema.shape.error.nullable(),
}).openapi("Fit");

/** A page of fits. */
export const FitPageSchema = z.object({
  items: z.array(FitSchema),
  next: z.string().nullable().openapi({ description: "cursor of the next page (null: the last page)" }),
}).openapi("FitPage");

/** The body of POST /v1/searches. */
export const SearchBodySchema = z.strictObject({
  spec: z.record(z.string(), z.unknown()).optional().openapi({
    description: "A search spec (a fit spec plus a `search` block) with inline data.columns and its seeds " +
      'as {"text": …}. It names no file.',
  }),
  fixture: z.string().optional().openapi({
    description: "A bundled search spec's name (fixtures/specs/NAME.json) instead of `spec`.",
    example: "pendulum-search",
  }),
  evaluations: z.int().positive().optional().openapi({
    description: "Budget: candidates evaluated (at most the server's DMCI_SEARCH_EVALUATIONS).",
  }),
  minutes: z.number().positive().optional().openapi({
    description: "Budget: wall-clock minutes (at most the server's DMCI_SEARCH_MINUTES).",
  }),
  seed: z.int().nonnegative().optional().openapi({ description: "The search's seed (default: the spec's)." }),
  proposer: z.enum(["mutate", "llm"]).optional().openapi({
    description: '"mutate" (default); "llm" only when the server has an LLM endpoint (DMCI_LLM_*).',
  }),
  limits: LimitsSchema.optional(),
}).openapi("SearchRequest");

const SearchProgressSchema = z.object({
  evaluations: z.int(),
  budget: z.int(),
  best: z.number().nullable().openapi({ description: "the best score so far (lower is better)" }),
  complexity: z.int().nullable(),
  bestId: z.string().nullable(),
  rejected: z.int(),
  seconds: z.number(),
}).openapi("SearchProgress");

/** A search job. */
export const SearchSchema = FitSchema.extend({
  progress: SearchProgressSchema.nullable(),
  result: z.record(z.string(), z.unknown()).nullable().openapi({
    description: 'The document `deno task search --json` prints: {"best": {program, params, score, ' +
      'complexity, constants}, "pareto", "evaluations", "seconds", "rejected", "test"}.',
  }),
}).openapi("Search");

/** A page of searches. */
export const SearchPageSchema = z.object({
  items: z.array(SearchSchema),
  next: z.string().nullable().openapi({ description: "cursor of the next page (null: the last page)" }),
}).openapi("SearchPage");

/** The `:id` path parameter. */
export const IdParamSchema = z.object({
  id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" } }),
});

/** The list's query. */
export const ListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({
    param: { name: "limit", in: "query" },
  }),
  cursor: z.string().regex(/^[0-9]+$/).optional().openapi({ param: { name: "cursor", in: "query" } }),
});

/** The body of POST /v1/eval. */
export const EvalBodySchema = z.strictObject({
  program: z.string().min(1).max(100_000).openapi({ example: "(define k 3.0) (* k k)" }),
  theta: z.array(z.number()).optional().openapi({
    description: "one number per parameter (default: the literals)",
  }),
  inputs: z.record(z.string(), z.union([z.number(), z.array(z.number())])).optional(),
  mode: z.enum(["direct", "interpreted"]).default("interpreted"),
  backend: z.enum(["f64", "tfjs"]).default("f64"),
}).openapi("EvalRequest");

/** The answer of POST /v1/eval. */
export const EvalResultSchema = z.object({
  value: z.number(),
  gradient: z.array(z.union([z.number(), z.object({ shape: z.array(z.int()), data: z.array(z.number()) })])),
  params: z.array(z.string()),
}).openapi("EvalResult");

/** GET /health. */
export const HealthSchema = z.object({
  ok: z.boolean(),
  running: z.int(),
  queued: z.int(),
  workers: z.int(),
  queue: z.int(),
}).openapi("Health");
