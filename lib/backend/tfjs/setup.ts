/**
 * Loads tfjs-core with its `cpu` kernels (and `wasm` kernels on request), keeps tfjs
 * silent, and switches the engine tfjs computes on. It must not define any op: the
 * backend proper lives in mod.ts; this module only owns tfjs's global state.
 */
import { loadTfjsWasm, tf } from "../../deps_tfjs.ts";
import { DmciError } from "../../errors.ts";

/**
 * tfjs-core, silenced (see below). Code that makes tensors should import `tf` from here
 * rather than from deps.ts, so that prod mode is on before its first tensor.
 */
export { tf };

/** The tfjs kernel sets dmci can compute on. */
export type TfjsEngine = "cpu" | "wasm";

// tfjs prints through `console.warn` unless PROD (or IS_TEST) is set: the cpu kernels'
// "Hi, looks like you are running TensorFlow.js in Node.js …" hint on their first
// tensor under Node/Deno (tfjs takes Deno for Node), and
// "backend already registered" / platform warnings. Prod mode changes nothing but that
// logging (checked in tfjs-core 4.22.0: the flag is only read by `log.warn`/`log.log`
// and the environment's own warnings), so dmci sets it as soon as tfjs is loaded,
// before any tensor exists.
tf.enableProdMode();

/**
 * Makes `engine` the one tfjs computes on, synchronously. `cpu` is always available;
 * `wasm` must have been readied once by `readyTfjsEngine("wasm")`.
 *
 * @example
 * ```ts
 * useTfjsEngine("cpu");
 * tf.getBackend(); // "cpu"
 * ```
 */
export function useTfjsEngine(engine: TfjsEngine): void {
  if (tf.getBackend() === engine) return;
  if (engine === "wasm" && !wasmReady) {
    throw new DmciError(
      "io",
      "tfjs: the wasm engine is not loaded; create the backend with createTfjsBackend",
    );
  }
  // For a backend that is registered and initialised (cpu always; wasm once readied),
  // tfjs's async `setBackend` finishes synchronously: its only `await` is on first
  // initialisation. So the switch is complete when this line returns.
  void tf.setBackend(engine);
}

let wasmReady = false;

/**
 * Loads and initialises `engine` (the wasm module is read from the npm package, never
 * fetched from the network) and makes it current. Safe to call repeatedly. While the
 * wasm engine initialises tfjs refuses every op, on any engine: await this first.
 *
 * @example
 * ```ts
 * await readyTfjsEngine("wasm");
 * tf.getBackend(); // "wasm"
 * ```
 */
export async function readyTfjsEngine(engine: TfjsEngine): Promise<void> {
  if (engine === "wasm" && !wasmReady) {
    const previous = tf.getBackend();
    let ok = false;
    // tfjs reports why an engine failed only through its (silenced) warnings; the usual
    // cause here is a missing read permission for the .wasm file in the npm cache.
    let why =
      "initialisation failed (the engine reads its .wasm file from the npm package: is reading allowed?)";
    try {
      await loadTfjsWasm();
      ok = await tf.setBackend("wasm");
    } catch (e) {
      why = e instanceof Error ? e.message : String(e);
    }
    if (!ok) {
      if (previous) await tf.setBackend(previous);
      throw new DmciError("io", `tfjs: cannot start the wasm engine: ${why}`);
    }
    replaceWasmLog1p();
    wasmReady = true;
  }
  useTfjsEngine(engine);
}

// The wasm kernels compute log1p as log(1 + x) in float32, which loses everything for
// tiny x (log1p(1e-7) came out as 1.19e-7). Its kernel is replaced by one that applies
// Math.log1p to the values, as the cpu kernels do; the gradient rule is unchanged.
function replaceWasmLog1p(): void {
  interface WasmLike {
    readSync(dataId: unknown): unknown;
    makeOutput(
      shape: number[],
      dtype: "float32",
      memoryOffset?: number,
      values?: Float32Array,
    ): tf.TensorInfo;
  }
  tf.unregisterKernel(tf.Log1p, "wasm");
  tf.registerKernel({
    kernelName: tf.Log1p,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      const wasm = backend as unknown as WasmLike;
      const v = wasm.readSync(x.dataId) as Float32Array;
      const out = new Float32Array(v.length);
      for (let i = 0; i < v.length; i++) out[i] = Math.log1p(v[i]);
      return wasm.makeOutput(x.shape, "float32", undefined, out);
    },
  });
}
