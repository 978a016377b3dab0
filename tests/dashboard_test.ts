/**
 * The dashboard (GET /) in headless Chromium (Debian's `chromium`, driven by playwright-core;
 * .ci/run installs it): a fit submitted through the API appears on the page, shows progress,
 * finishes, and its parameters with standard errors and its plot are shown. Saves a screenshot
 * to out/dashboard.png; then a program search submitted by the page's search form, its best
 * program and Pareto front (out/dashboard_search.png).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
// deno-lint-ignore no-import-prefix
import { chromium } from "npm:playwright-core@1.65.1";
import { FitClient } from "../mod.ts";
import { ROOT, startServerProcess } from "./helpers/server.ts";

const CHROMIUM = "/usr/bin/chromium";

Deno.test("dashboard: a fit submitted through the API appears, progresses and finishes", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  try {
    Deno.statSync(CHROMIUM);
  } catch {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (bash .ci/run does)`);
  }
  const server = await startServerProcess();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(server.url + "/");
    assert.equal(await page.textContent("h1"), "dmci fit server");
    assert.ok((await page.$$("#fixture option")).length >= 5);

    // A fit of some seconds (a busy loop in each run), submitted through the API, not the page.
    const client = new FitClient(server.url);
    const { id } = await client.submit({
      spec: {
        name: "decay_slowly",
        program: {
          text:
            "(define A 1.0) (define k 0.5) (define (spin n) (if (= n 0) 0 (spin (- n 1)))) (spin 400000) " +
            "(* A (exp (- (* k t))))",
        },
        inputs: { t: "t" },
        target: "y",
        params: { A: { transform: "positive" }, k: { transform: "positive" } },
        data: { columns: { t: [0, 1, 2, 3, 4, 5, 6, 7], y: [2.5, 1.6, 1.0, 0.65, 0.41, 0.26, 0.17, 0.1] } },
        optimizer: { method: "adam", steps: 200, tolerance: 0, learning_rate: 0.05 },
        // tfjs: untraced, so the busy loop runs at every step (an f64 replay would skip it)
        backend: "tfjs",
      },
    });
    const row = `#fit-${id}`;
    await page.waitForSelector(row, { timeout: 10_000 });
    await page.waitForSelector(`${row} progress`, { timeout: 30_000 });
    await Deno.mkdir(join(ROOT, "out"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "out", "dashboard_running.png"), fullPage: true });
    const step = Number(await page.getAttribute(`${row} progress`, "value"));
    assert.ok(step >= 0 && step <= 200);
    await page.waitForSelector(`${row}[data-status="done"]`, { timeout: 60_000 });
    assert.equal(await page.textContent(`${row} .status`), "done");

    // The finished fit's parameters with standard errors, as the API has them, and its plot.
    await page.click(row);
    await page.waitForSelector("#params tbody tr");
    const cells = await page.$$eval(
      "#params tbody tr",
      (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)),
    );
    const fit = await client.get(id);
    const params = fit.result!.params as { name: string; value: number; se: number }[];
    assert.deepEqual(cells.map((c) => c[0]), params.map((p) => p.name));
    for (const [i, p] of params.entries()) {
      assert.equal(Number(cells[i][1]), Number(p.value.toPrecision(6)));
      assert.equal(Number(cells[i][2]), Number(p.se.toPrecision(6)));
    }
    // The plot is an <img> whose natural width is that of the rendered SVG.
    await page.waitForSelector("#plot img", { timeout: 20_000 });
    const width = await page.$eval("#plot img", (img) => {
      const i = img as unknown as { naturalWidth: number; decode(): Promise<void> };
      return i.decode().then(() => i.naturalWidth);
    });
    assert.ok(width > 100, `plot width ${width}`);

    // Text from a fit is shown as text, never as HTML.
    const evil = await client.submit({
      spec: {
        name: '<i id="injected">x</i>',
        program: { text: "(define k 0.5) (* k t)" },
        inputs: { t: "t" },
        target: "y",
        data: { columns: { t: [0, 1, 2], y: [0, 1, 2] } },
        backend: "f64",
      },
    });
    await client.wait(evil.id);
    await page.waitForSelector(`#fit-${evil.id}[data-status="done"]`, { timeout: 20_000 });
    assert.equal(await page.$("#injected"), null);
    assert.equal(await page.textContent(`#fit-${evil.id} td:nth-child(2)`), '<i id="injected">x</i>');

    // The page's own form submits a bundled spec.
    await page.selectOption("#fixture", "exponential_decay");
    await page.click("#submit button");
    await page.locator("#message", { hasText: /^queued / }).waitFor({ timeout: 10_000 });
    const formId = (await page.textContent("#message"))!.slice("queued ".length);
    await page.waitForSelector(`#fit-${formId}[data-status="done"]`, { timeout: 30_000 });
    assert.equal((await client.get(formId)).name, "exponential_decay");
    await page.click(row);
    await page.waitForSelector("#plot img");

    await page.screenshot({ path: join(ROOT, "out", "dashboard.png"), fullPage: true });

    // A program search submitted by the page's search form: it appears, finishes, and its best
    // program and Pareto front are shown as the API has them. Battery searches read cells outside
    // the bundled fixtures, so the form does not offer them.
    const offered = await page.$$eval("#search-fixture option", (os) => os.map((o) => o.textContent));
    assert.ok(offered.includes("pendulum-search") && !offered.includes("battery-search"), String(offered));
    await page.selectOption("#search-fixture", "pendulum-search");
    await page.fill("#search-evaluations", "20");
    await page.click("#search-submit button");
    await page.locator("#search-message", { hasText: /^queued / }).waitFor({ timeout: 10_000 });
    const searchId = (await page.textContent("#search-message"))!.slice("queued ".length);
    await page.waitForSelector(`#search-${searchId}[data-status="done"]`, { timeout: 60_000 });
    await page.click(`#search-${searchId}`);
    await page.waitForSelector("#best-program");
    const search = await client.getSearch(searchId);
    const result = search.result as { best: { program: string }; pareto: unknown[]; evaluations: number };
    assert.equal(result.evaluations, 20);
    assert.equal(await page.textContent("#best-program"), result.best.program);
    assert.equal((await page.$$("#pareto tbody tr")).length, result.pareto.length);
    await page.screenshot({ path: join(ROOT, "out", "dashboard_search.png"), fullPage: true });
  } finally {
    await browser.close();
    await server.dispose();
  }
});
