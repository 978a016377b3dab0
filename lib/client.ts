/**
 * A typed client of the fit server (server.ts): submit a fit or a program search, wait for it
 * with a progress callback (server-sent events), cancel it, evaluate a program's value and gradient. It uses
 * only `fetch`, so it works wherever mod.ts is imported by URL; it imports no server code.
 */
import { DmciError, type ErrorKind } from "./errors.ts";
import type {
  FitErrorRecord,
  FitProgressRecord,
  FitRecord,
  JobLimits,
  SearchProgressRecord,
} from "./server/store.ts";

export type { FitErrorRecord, FitProgressRecord, FitStatus, SearchProgressRecord } from "./server/store.ts";

/** A fit as the server reports it (GET /v1/fits/:id). */
export interface FitView extends FitRecord {
  readonly url: string;
}

/** A search as the server reports it (GET /v1/searches/:id); `result` is what `search --json` prints. */
export interface SearchView extends Omit<FitRecord, "progress"> {
  readonly url: string;
  readonly progress: SearchProgressRecord | null;
}

/** What to search: an inline search spec (data.columns, seeds as {"text"}), or a bundled one's name. */
export type SearchSubmission =
  & ({ readonly spec: Record<string, unknown> } | { readonly fixture: string })
  & {
    readonly evaluations?: number;
    readonly minutes?: number;
    readonly seed?: number;
    readonly proposer?: "mutate" | "llm";
    readonly limits?: Partial<JobLimits>;
  };

/** What to fit: an inline spec (with data.columns, or `csv` text), or a bundled fixture's name. */
export type FitSubmission =
  | { readonly spec: Record<string, unknown>; readonly csv?: string; readonly limits?: Partial<JobLimits> }
  | { readonly fixture: string; readonly limits?: Partial<JobLimits> };

/** Value and gradient of a program at θ (POST /v1/eval). */
export interface EvalQuery {
  readonly program: string;
  readonly theta?: readonly number[];
  readonly inputs?: Readonly<Record<string, number | readonly number[]>>;
  readonly mode?: "direct" | "interpreted";
  readonly backend?: "f64" | "tfjs";
}

/** The answer of POST /v1/eval. */
export interface EvalAnswer {
  readonly value: number;
  readonly gradient: (number | { shape: number[]; data: number[] })[];
  readonly params: string[];
}

const KINDS: readonly ErrorKind[] = [
  "read",
  "syntax",
  "unbound",
  "arity",
  "type",
  "limit",
  "user",
  "spec",
  "data",
  "io",
];

/** A failed request: the server's error (kind, message, place) with the HTTP status. */
export class FitServerError extends DmciError {
  constructor(
    /** The HTTP status (0: no answer). */
    readonly status: number,
    /** The server's error; its kind may be one dmci programs do not raise ("auth", "internal"). */
    readonly error: FitErrorRecord,
    /** Seconds to wait before retrying (a 429's Retry-After). */
    readonly retryAfter: number | null = null,
  ) {
    super(
      KINDS.includes(error.kind as ErrorKind) ? error.kind as ErrorKind : "io",
      `HTTP ${status}: ${error.message}`,
    );
  }
}

/** Options of `FitClient`. */
export interface FitClientOptions {
  /** The bearer token, when the server has DMCI_TOKEN set. */
  readonly token?: string;
}

/**
 * The client.
 *
 * @example
 * ```ts
 * const client = new FitClient("http://127.0.0.1:8787");
 * const { id } = await client.submit({ fixture: "exponential_decay" });
 * const fit = await client.wait(id, (p) => console.log(p.step, p.loss));
 * fit.result?.params; // [{ name: "A", value: 2.51, se: 0.022, … }, …]
 * ```
 */
export class FitClient {
  private readonly base: string;

  constructor(baseUrl: string | URL, private readonly options: FitClientOptions = {}) {
    this.base = String(baseUrl).replace(/\/+$/, "");
  }

  /** Queues a fit; a full queue throws FitServerError with status 429 and `retryAfter`. */
  submit(what: FitSubmission): Promise<{ id: string; url: string; status: "queued" }> {
    return this.json("POST", "/v1/fits", what);
  }

  /** The fit's current state. */
  get(id: string): Promise<FitView> {
    return this.json("GET", `/v1/fits/${encodeURIComponent(id)}`);
  }

  /** A page of fits, newest first. */
  list(limit = 20, cursor?: string): Promise<{ items: FitView[]; next: string | null }> {
    const q = `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    return this.json("GET", `/v1/fits${q}`);
  }

  /** Cancels a queued or running fit. */
  cancel(id: string): Promise<FitView> {
    return this.json("DELETE", `/v1/fits/${encodeURIComponent(id)}`);
  }

  /** The plot (SVG text) of a done fit. */
  async plot(id: string): Promise<string> {
    return await (await this.request("GET", `/v1/fits/${encodeURIComponent(id)}/plot.svg`)).text();
  }

  /** Value and gradient of a program at θ. */
  eval(query: EvalQuery): Promise<EvalAnswer> {
    return this.json("POST", "/v1/eval", query);
  }

  /**
   * Follows the fit's events until its final state and returns it; `onProgress` gets each
   * progress report. Rejects when `signal` aborts.
   */
  wait(id: string, onProgress?: (p: FitProgressRecord) => void, signal?: AbortSignal): Promise<FitView> {
    return this.follow(`/v1/fits/${encodeURIComponent(id)}`, onProgress, signal);
  }

  /** Queues a program search; a full queue throws FitServerError with status 429 and `retryAfter`. */
  submitSearch(what: SearchSubmission): Promise<{ id: string; url: string; status: "queued" }> {
    return this.json("POST", "/v1/searches", what);
  }

  /** The search's current state. */
  getSearch(id: string): Promise<SearchView> {
    return this.json("GET", `/v1/searches/${encodeURIComponent(id)}`);
  }

  /** A page of searches, newest first. */
  listSearches(limit = 20, cursor?: string): Promise<{ items: SearchView[]; next: string | null }> {
    const q = `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    return this.json("GET", `/v1/searches${q}`);
  }

  /** Cancels a queued or running search. */
  cancelSearch(id: string): Promise<SearchView> {
    return this.json("DELETE", `/v1/searches/${encodeURIComponent(id)}`);
  }

  /**
   * Follows the search's events until its final state and returns it; `onProgress` gets each
   * progress report (evaluations, best score, …). Rejects when `signal` aborts.
   *
   * @example
   * ```ts
   * const { id } = await client.submitSearch({ fixture: "pendulum-search", evaluations: 50 });
   * const s = await client.waitSearch(id, (p) => console.log(p.evaluations, p.best));
   * s.result?.best; // { program, params, score, complexity, … }
   * ```
   */
  waitSearch(
    id: string,
    onProgress?: (p: SearchProgressRecord) => void,
    signal?: AbortSignal,
  ): Promise<SearchView> {
    return this.follow(`/v1/searches/${encodeURIComponent(id)}`, onProgress, signal);
  }

  /** Follows a job's events (`path` + /events) until its final state. */
  private async follow<V, P>(path: string, onProgress?: (p: P) => void, signal?: AbortSignal): Promise<V> {
    const res = await this.request("GET", `${path}/events`, undefined, signal);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const event = parseEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (event?.name === "final") return JSON.parse(event.data) as V;
          if (event?.name === "progress") {
            const p = JSON.parse(event.data) as { progress: P | null };
            if (p.progress) onProgress?.(p.progress);
          }
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
    return await this.json<V>("GET", path); // the stream ended without a final event (server going down)
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new FitServerError(0, { kind: "io", message: `cannot reach ${this.base}: ${e}`, place: null });
    }
    if (res.ok) return res;
    const text = await res.text();
    let error: FitErrorRecord;
    try {
      error = (JSON.parse(text) as { error: FitErrorRecord }).error;
    } catch {
      error = { kind: "io", message: text.slice(0, 200), place: null };
    }
    const retry = res.headers.get("retry-after");
    throw new FitServerError(res.status, error, retry === null ? null : Number(retry));
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return await (await this.request(method, path, body)).json() as T;
  }
}

/** One server-sent event block: its `event:` name and `data:` lines. */
function parseEvent(block: string): { name: string; data: string } | undefined {
  let name = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  return data.length ? { name, data: data.join("\n") } : undefined;
}
