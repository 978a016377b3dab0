/**
 * The server's guards: the bearer token (compared in constant time), the request-body limit,
 * one JSON log line per request, and error answers that never carry a stack trace.
 */
import { timingSafeEqual } from "node:crypto";
import { bodyLimit, type Context, type MiddlewareHandler } from "./deps.ts";

/** The JSON error answer every failure uses. */
export function errorBody(kind: string, message: string, place: string | null = null) {
  return { error: { kind, message, place } };
}

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/**
 * True when `given` equals `token`, in time independent of where they differ (both are hashed
 * first, so neither the length nor the content of the token leaks).
 */
export async function tokenMatches(given: string, token: string): Promise<boolean> {
  return timingSafeEqual(await digest(given), await digest(token));
}

/** Requires `Authorization: Bearer <token>`; 401 otherwise. */
export function requireToken(token: string): MiddlewareHandler {
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer (.+)$/.exec(header);
    if (!match || !(await tokenMatches(match[1], token))) {
      c.header("WWW-Authenticate", 'Bearer realm="dmci"');
      return c.json(errorBody("auth", "missing or wrong bearer token"), 401);
    }
    await next();
  };
}

/** Refuses bodies over `maxSize` bytes with 413. */
export function limitBody(maxSize: number): MiddlewareHandler {
  return bodyLimit({
    maxSize,
    onError: (c: Context) =>
      c.json(errorBody("limit", `the request body is larger than ${maxSize} bytes`), 413),
  });
}

/** Writes one JSON line per request: time, method, path, status, milliseconds. */
export function logRequests(write: (line: string) => void = console.log): MiddlewareHandler {
  return async (c, next) => {
    const t0 = performance.now();
    await next();
    write(JSON.stringify({
      time: new Date().toISOString(),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - t0) * 10) / 10,
    }));
  };
}
