/**
 * The `llm` proposer: asks any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama,
 * vLLM, llama.cpp's server) for an edit of the parent, through the official `openai` client,
 * and reads the reply (llm_reply.ts) into a checked candidate. The prompt is llm_prompt.ts.
 *
 * Requests are bounded: each attempt has a deadline that aborts it wherever it is (connecting,
 * waiting for headers, or reading a body that never ends); 429, 5xx, timeouts and broken
 * connections are retried with exponential backoff (a server's Retry-After wins); at most
 * `concurrency` requests are in flight; every attempt is recorded with its token counts.
 */
import { loadOpenAI, type OpenAI, pLimit } from "../../deps.ts";
import { DmciError } from "../../errors.ts";
import { uniform } from "../../random.ts";
import type { Proposal, ProposalContext, Proposer, ProposerCall, TokenUsage } from "../types.ts";
import {
  buildPrompt,
  parentBase,
  type Prompt,
  type PromptOptions,
  REQUEST_ERROR_PREFIX,
} from "./llm_prompt.ts";
import { readReply } from "./llm_reply.ts";

/** Where and how to ask. The CLI fills these from flags, else from `llmOptionsFromEnv`. */
export interface LlmOptions extends PromptOptions {
  /** The endpoint, e.g. `http://127.0.0.1:11434/v1` (default: the client's, OpenAI's). */
  readonly baseURL?: string;
  /** The model name (required). */
  readonly model?: string;
  /** The API key (a local server ignores it). */
  readonly apiKey?: string;
  /** Sampling temperature (default 0.7). */
  readonly temperature?: number;
  /** Largest reply in tokens (default: the server's). */
  readonly maxTokens?: number;
  /** Deadline of one attempt in ms, reading the whole reply included (default 120000). */
  readonly timeoutMs?: number;
  /** Retries after the first attempt (default 4). */
  readonly retries?: number;
  /** First backoff in ms, doubled per retry, with seeded jitter in [50%, 100%] (default 1000). */
  readonly backoffMs?: number;
  /** Largest wait before a retry in ms, Retry-After included (default 60000). */
  readonly maxBackoffMs?: number;
  /** Requests in flight at once (default 2). */
  readonly concurrency?: number;
  /** Aborting it cancels every request in flight and every wait; proposals then fail. */
  readonly signal?: AbortSignal;
  /** How to wait before a retry (tests record the waits); default a timer that the signal cancels. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** One HTTP attempt of the proposer (the shape lives in types.ts, with the other shapes that cross roles). */
export type CallRecord = ProposerCall;

/** The `llm` proposer, with its request log. */
export interface LlmProposer extends Proposer {
  /** Tokens of every completed request so far; `calls` counts the requests that returned a reply. */
  usage(): TokenUsage;
  /** Every attempt so far, in the order they ended. */
  calls(): readonly ProposerCall[];
}

/** The environment variables `llmOptionsFromEnv` reads. */
export const LLM_ENV = {
  baseURL: "DMCI_LLM_BASE_URL",
  model: "DMCI_LLM_MODEL",
  apiKey: "DMCI_LLM_API_KEY",
  apiKeyFallback: "OPENAI_API_KEY",
  temperature: "DMCI_LLM_TEMPERATURE",
} as const;

/**
 * The proposer's options from the environment (`DMCI_LLM_BASE_URL`, `DMCI_LLM_MODEL`,
 * `DMCI_LLM_API_KEY` or else `OPENAI_API_KEY`, `DMCI_LLM_TEMPERATURE`); unset ones are left out.
 *
 * @example
 * ```ts
 * llmOptionsFromEnv((n) => ({ DMCI_LLM_MODEL: "qwen2.5-coder" } as Record<string, string>)[n]);
 * // { model: "qwen2.5-coder" }
 * ```
 */
export function llmOptionsFromEnv(get: (name: string) => string | undefined = readEnv): LlmOptions {
  const out: { -readonly [K in keyof LlmOptions]: LlmOptions[K] } = {};
  const baseURL = get(LLM_ENV.baseURL);
  const model = get(LLM_ENV.model);
  const apiKey = get(LLM_ENV.apiKey) ?? get(LLM_ENV.apiKeyFallback);
  const temperature = get(LLM_ENV.temperature);
  if (baseURL) out.baseURL = baseURL;
  if (model) out.model = model;
  if (apiKey) out.apiKey = apiKey;
  if (temperature) {
    const t = Number(temperature);
    if (!Number.isFinite(t) || t < 0) {
      throw new DmciError(
        "spec",
        `${LLM_ENV.temperature}: expected a number ≥ 0, got ${JSON.stringify(temperature)}`,
      );
    }
    out.temperature = t;
  }
  return out;
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: as if unset
  }
}

/**
 * The `llm` proposer. Throws a `spec` error when no model is named, or neither a key nor a base
 * URL is given.
 *
 * @example
 * ```ts
 * const p = llmProposer({ baseURL: "http://127.0.0.1:11434/v1", model: "qwen2.5-coder" });
 * const proposal = await p.propose(context); // { text, proposer: "llm", edit } or { error }
 * p.usage(); // { calls, promptTokens, completionTokens }
 * ```
 */
export function llmProposer(options: LlmOptions): LlmProposer {
  const settings = validated(options);
  const limit = pLimit(settings.concurrency);
  const log: CallRecord[] = [];
  let client: Promise<OpenAI> | null = null;
  const connect = () =>
    client ??= loadOpenAI().then(({ default: OpenAIClient }) =>
      new OpenAIClient({
        apiKey: settings.apiKey,
        baseURL: settings.baseURL,
        maxRetries: 0, // retries are ours (below), so that timeouts and Retry-After are handled alike
        timeout: 2 * settings.timeoutMs, // a safety net only: our deadline (attemptOnce) comes first
      })
    );
  const propose = async (context: ProposalContext): Promise<Proposal | { error: string }> => {
    const prompt = buildPrompt(context, settings);
    const reply = await limit(async () => ask(await connect(), prompt, context.seed, settings, log));
    if ("error" in reply) return reply;
    const read = readReply(reply.content, parentBase(context.parent), context.task);
    return "error" in read ? read : { text: read.text, proposer: "llm", edit: read.edit };
  };
  return {
    name: "llm",
    propose,
    usage: () => sumUsage(log),
    calls: () => [...log],
  };
}

/** Token counts summed over the attempts that returned a reply. */
export function sumUsage(log: readonly CallRecord[]): TokenUsage {
  const ok = log.filter((c) => c.outcome === "ok");
  return {
    calls: ok.length,
    promptTokens: ok.reduce((s, c) => s + c.promptTokens, 0),
    completionTokens: ok.reduce((s, c) => s + c.completionTokens, 0),
  };
}

type Settings =
  & Required<Pick<LlmOptions, "temperature" | "timeoutMs" | "retries" | "backoffMs" | "maxBackoffMs">>
  & Required<Pick<LlmOptions, "concurrency" | "sleep" | "model" | "apiKey">>
  & LlmOptions;

function validated(options: LlmOptions): Settings {
  if (!options.model) {
    throw new DmciError(
      "spec",
      `the llm proposer needs a model: set ${LLM_ENV.model} (e.g. gpt-4o-mini, qwen2.5-coder)`,
    );
  }
  if (!options.apiKey && !options.baseURL) {
    throw new DmciError(
      "spec",
      `the llm proposer needs an API key (${LLM_ENV.apiKey} or ${LLM_ENV.apiKeyFallback}) or a base URL (${LLM_ENV.baseURL})`,
    );
  }
  const positive = (name: string, x: number | undefined, fallback: number, min = 0): number => {
    if (x === undefined) return fallback;
    if (!Number.isFinite(x) || x < min) {
      throw new DmciError("spec", `llm ${name}: expected ≥ ${min}, got ${x}`);
    }
    return x;
  };
  return {
    ...options,
    model: options.model,
    apiKey: options.apiKey ?? "unused", // local servers ignore it; the client insists on one
    temperature: positive("temperature", options.temperature, 0.7),
    timeoutMs: positive("timeoutMs", options.timeoutMs, 120_000, 1),
    retries: positive("retries", options.retries, 4),
    backoffMs: positive("backoffMs", options.backoffMs, 1000),
    maxBackoffMs: positive("maxBackoffMs", options.maxBackoffMs, 60_000),
    concurrency: positive("concurrency", options.concurrency, 2, 1),
    sleep: options.sleep ?? sleep,
  };
}

/** One request with its retries: the reply's text, or a request error. */
async function ask(
  client: OpenAI,
  prompt: Prompt,
  seed: number,
  s: Settings,
  log: CallRecord[],
): Promise<{ content: string } | { error: string }> {
  const jitter = uniform(seed);
  for (let attempt = 1;; attempt++) {
    const started = performance.now();
    const result = await attemptOnce(client, prompt, seed, s);
    const ms = performance.now() - started;
    const base = { seed, attempt, ms, status: result.status };
    if (result.outcome === "ok") {
      log.push({ ...base, outcome: "ok", ...result.tokens, retryAfterMs: null, message: null });
      if (result.content.trim() === "") return { error: "reply:1:1: the reply is empty" };
      return { content: result.content };
    }
    const again = result.retryable && attempt <= s.retries && !s.signal?.aborted;
    const wait = again ? backoff(attempt, result.retryAfterMs, s, jitter) : null;
    log.push({
      ...base,
      outcome: result.outcome,
      promptTokens: 0,
      completionTokens: 0,
      retryAfterMs: wait,
      message: result.message,
    });
    if (wait === null) {
      const tries = attempt === 1 ? "" : ` (after ${attempt} attempts)`;
      return { error: `${REQUEST_ERROR_PREFIX}: ${result.message}${tries}` };
    }
    try {
      await s.sleep(wait, s.signal);
    } catch {
      return { error: `${REQUEST_ERROR_PREFIX}: cancelled while waiting to retry` };
    }
  }
}

/** The wait before retry `attempt`: the server's Retry-After, else exponential with jitter; capped. */
function backoff(attempt: number, retryAfterMs: number | null, s: Settings, jitter: () => number): number {
  if (retryAfterMs !== null) return Math.min(retryAfterMs, s.maxBackoffMs);
  const full = Math.min(s.backoffMs * 2 ** (attempt - 1), s.maxBackoffMs);
  return Math.round(full * (0.5 + 0.5 * jitter()));
}

type Attempt =
  | {
    outcome: "ok";
    status: number | null;
    content: string;
    tokens: { promptTokens: number; completionTokens: number };
  }
  | {
    outcome: Exclude<CallRecord["outcome"], "ok">;
    status: number | null;
    retryable: boolean;
    retryAfterMs: number | null;
    message: string;
  };

class Deadline extends Error {}

/**
 * One HTTP request under a deadline that aborts it wherever it is. The race against the abort
 * makes sure the deadline holds even if the client kept waiting on a body that never ends.
 */
async function attemptOnce(client: OpenAI, prompt: Prompt, seed: number, s: Settings): Promise<Attempt> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Deadline(`no complete reply within ${s.timeoutMs} ms`)),
    s.timeoutMs,
  );
  const cancel = () => controller.abort(s.signal?.reason);
  s.signal?.addEventListener("abort", cancel, { once: true });
  if (s.signal?.aborted) cancel();
  const aborted = new Promise<never>((_, reject) => {
    const stop = () => reject(controller.signal.reason);
    if (controller.signal.aborted) stop();
    else controller.signal.addEventListener("abort", stop, { once: true });
  });
  try {
    const request = client.chat.completions.create(
      {
        model: s.model,
        messages: [{ role: "system", content: prompt.system }, { role: "user", content: prompt.user }],
        temperature: s.temperature,
        ...(Number.isSafeInteger(seed) ? { seed } : {}), // servers that sample with seeds then repeat themselves
        ...(s.maxTokens !== undefined ? { max_tokens: s.maxTokens } : {}),
      },
      { signal: controller.signal },
    );
    request.catch(() => {}); // when the deadline wins the race, the request's own rejection is expected
    const completion = await Promise.race([request, aborted]);
    return {
      outcome: "ok",
      status: 200,
      content: completion.choices?.[0]?.message?.content ?? "",
      tokens: {
        promptTokens: completion.usage?.prompt_tokens ?? 0,
        completionTokens: completion.usage?.completion_tokens ?? 0,
      },
    };
  } catch (e) {
    return classify(e, controller.signal);
  } finally {
    clearTimeout(timer);
    s.signal?.removeEventListener("abort", cancel);
    aborted.catch(() => {});
    controller.abort(); // whatever is still open of this attempt is closed
  }
}

/** What a failed attempt was, and whether it is worth retrying. */
function classify(e: unknown, signal: AbortSignal): Exclude<Attempt, { outcome: "ok" }> {
  const failed = (
    outcome: Exclude<CallRecord["outcome"], "ok">,
    retryable: boolean,
    message: string,
    status: number | null = null,
    retryAfterMs: number | null = null,
  ) => ({ outcome, retryable, message, status, retryAfterMs });
  if (signal.aborted && signal.reason instanceof Deadline) {
    return failed("timeout", true, signal.reason.message);
  }
  if (signal.aborted) return failed("cancelled", false, "cancelled");
  const status = typeof (e as { status?: unknown })?.status === "number"
    ? (e as { status: number }).status
    : null;
  const message = e instanceof Error ? e.message : String(e);
  if (status !== null) {
    const retryable = status === 408 || status === 409 || status === 429 || status >= 500;
    const headers = (e as { headers?: Headers }).headers;
    return failed("http", retryable, `HTTP ${status}: ${message}`, status, retryAfter(headers));
  }
  // no status: the connection broke, or the body was not a completion; both may pass
  return failed("connection", true, message);
}

/** The server's requested wait in ms (`retry-after-ms`, `retry-after` in seconds or as a date). */
export function retryAfter(headers: Headers | undefined, now = Date.now()): number | null {
  if (!headers || typeof headers.get !== "function") return null;
  const ms = Number(headers.get("retry-after-ms"));
  if (headers.get("retry-after-ms") !== null && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get("retry-after");
  if (value === null) return null;
  const seconds = Number(value);
  if (value.trim() !== "" && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : null;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const done = () => {
      signal?.removeEventListener("abort", stop);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", stop, { once: true });
  });
}
