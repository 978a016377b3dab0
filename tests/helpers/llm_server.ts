/**
 * A local OpenAI-compatible chat-completions server (Hono on 127.0.0.1, a random port) that answers
 * each request with the next step of a script: a reply with token counts, an HTTP status (429,
 * 500, …), a body that never ends, or one that streams forever. It records what it was sent. The
 * `llm` proposer's tests (tests/search_llm_test.ts) and the search CLI's end-to-end test use it.
 */
import { Hono } from "./deps.ts";

/** One scripted answer. */
export type Step =
  | { kind: "reply"; content: string; promptTokens: number; completionTokens: number; delayMs?: number }
  | { kind: "status"; status: 429 | 500 | 400; headers?: Record<string, string> }
  | { kind: "hang" } // headers, half a JSON body, then nothing, ever
  | { kind: "stream" }; // headers, then a byte every 5 ms, forever

/** The running server. */
export interface Server {
  readonly baseURL: string;
  /** The request bodies received, in order. */
  readonly requests: { messages: { role: string; content: string }[]; model: string }[];
  /** Bodies that never end, and whether the client's abort reached the server (cancel). */
  readonly endless: { cancelled: boolean }[];
  maxInFlight: number;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 with `script` (consumed in order; past its end, 400). */
export function startServer(script: Step[]): Server {
  const encoder = new TextEncoder();
  const timers: ReturnType<typeof setInterval>[] = [];
  const controllers: ReadableStreamDefaultController[] = [];
  let inFlight = 0;
  const state: Server = {
    baseURL: "",
    requests: [],
    endless: [],
    maxInFlight: 0,
    close: async () => {
      timers.forEach(clearInterval);
      for (const c of controllers) {
        try {
          c.close();
        } catch { /* already cancelled */ }
      }
      await server.shutdown();
    },
  };
  const endlessBody = (trickle: boolean): ReadableStream => {
    const entry = { cancelled: false };
    state.endless.push(entry);
    let timer: ReturnType<typeof setInterval> | undefined;
    return new ReadableStream({
      start(c) {
        controllers.push(c);
        c.enqueue(encoder.encode('{"id":"chatcmpl-1","object":"chat.completion","choices":['));
        if (trickle) {
          timer = setInterval(() => c.enqueue(encoder.encode(" ")), 5);
          timers.push(timer);
        }
      },
      cancel() {
        entry.cancelled = true;
        clearInterval(timer);
      },
    });
  };
  const app = new Hono();
  app.post("/v1/chat/completions", async (c) => {
    state.requests.push(await c.req.json());
    const step: Step = script.shift() ?? { kind: "status", status: 400 };
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    try {
      switch (step.kind) {
        case "reply":
          if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
          return c.json({
            id: "chatcmpl-1",
            object: "chat.completion",
            created: 1,
            model: "scripted",
            choices: [{
              index: 0,
              message: { role: "assistant", content: step.content },
              finish_reason: "stop",
            }],
            usage: {
              prompt_tokens: step.promptTokens,
              completion_tokens: step.completionTokens,
              total_tokens: step.promptTokens + step.completionTokens,
            },
          });
        case "status":
          return c.json(
            { error: { message: `scripted ${step.status}`, type: "scripted", code: null } },
            step.status,
            step.headers ?? {},
          );
        case "hang":
        case "stream":
          return new Response(endlessBody(step.kind === "stream"), {
            headers: { "content-type": "application/json" },
          });
      }
    } finally {
      inFlight--;
    }
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  (state as { baseURL: string }).baseURL = `http://127.0.0.1:${server.addr.port}/v1`;
  return state;
}

/** A scripted reply. */
export const reply = (content: string, promptTokens: number, completionTokens: number): Step => ({
  kind: "reply",
  content,
  promptTokens,
  completionTokens,
});

/** A reply holding `program` in a scheme block. */
export const fencedReply = (program: string) =>
  `A damped oscillation fits better.\n\n\`\`\`scheme\n${program}\`\`\`\n`;
