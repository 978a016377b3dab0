/**
 * The server's npm dependencies, pinned here once with full `npm:` specifiers (as lib/deps.ts
 * does for the library). Only the server imports this module: nothing reachable from mod.ts.
 */
export { Hono } from "npm:hono@4.13.19";
export type { Context, MiddlewareHandler } from "npm:hono@4.13.19";
export { HTTPException } from "npm:hono@4.13.19/http-exception";
export { streamSSE } from "npm:hono@4.13.19/streaming";
export { bodyLimit } from "npm:hono@4.13.19/body-limit";
export { cors } from "npm:hono@4.13.19/cors";
export { secureHeaders } from "npm:hono@4.13.19/secure-headers";
export { createRoute, OpenAPIHono, z } from "npm:@hono/zod-openapi@1.6.3";
export { swaggerUI } from "npm:@hono/swagger-ui@0.6.1";
