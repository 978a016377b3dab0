/**
 * Tests of lib/fit/plot.ts: the SVG is well-formed and carries the title, axis labels, split
 * legend, fit line and split boundary; panels facet into a grid; non-finite values stay out;
 * the SVG renders to PNG through rsvg-convert (Debian's librsvg2-bin); and rendering needs no
 * permissions (no network, files or canvas) and prints nothing under `deno run --no-config`.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { DmciError } from "../lib/errors.ts";
import { type FitPlotInput, renderFitPlot } from "../lib/fit/plot.ts";
import { decay } from "./helpers/plot_input.ts";

/** Six panels (battery cells) of different lengths, each split at 75 % of its rows. */
function cells(): FitPlotInput & { panels: string[] } {
  const p = { x: [] as number[], observed: [] as number[], fitted: [] as number[] };
  const split: ("train" | "test")[] = [], panels: string[] = [];
  for (let c = 0; c < 6; c++) {
    const m = 40 + 8 * c;
    for (let i = 0; i < m; i++) {
      const f = 1 - 0.002 * i - (i > 25 ? 0.0004 * (i - 25) ** 2 : 0);
      p.x.push(i), p.fitted.push(f), p.observed.push(f + 0.01 * Math.cos(3.1 * i));
      split.push(i < 0.75 * m ? "train" : "test"), panels.push(`cell ${c + 1}`);
    }
  }
  return { title: "battery knee", xLabel: "cycle", yLabel: "capacity (Ah)", ...p, split, panels };
}

/**
 * Checks that `text` is well-formed XML with a single root element, and returns the root's name.
 * Enough of XML 1.0 for what an SVG writer emits: declarations, comments, CDATA, elements with
 * quoted attributes (unique per element, no raw `<`), text whose `&` starts a valid reference.
 */
function checkWellFormedXml(text: string): string {
  const token =
    /<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<!DOCTYPE[^>]*>|<\/([\w:.-]+)\s*>|<([\w:.-]+)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|[^<]+|</g;
  const reference = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  const stack: string[] = [];
  let root = "";
  let at = 0;
  for (const m of text.matchAll(token)) {
    assert.equal(m.index, at, `XML: unreadable text at offset ${at}: ${text.slice(at, at + 40)}`);
    at += m[0].length;
    const [whole, close, open, attrs, selfClosing] = m;
    if (whole === "<") assert.fail(`XML: stray '<' at offset ${m.index}`);
    if (close !== undefined) {
      assert.equal(stack.pop(), close, `XML: </${close}> closes the wrong element at offset ${m.index}`);
    } else if (open !== undefined) {
      if (stack.length === 0) {
        assert.equal(root, "", `XML: a second root element <${open}> at offset ${m.index}`);
        root = open;
      }
      const names = [...attrs.matchAll(/([\w:.-]+)\s*=/g)].map((a) => a[1]);
      assert.equal(new Set(names).size, names.length, `XML: repeated attribute in <${open}> at ${m.index}`);
      assert.ok(!/&/.test(attrs.replace(reference, "")), `XML: bare '&' in <${open}> at ${m.index}`);
      if (selfClosing === "") stack.push(open);
    } else if (!whole.startsWith("<")) {
      assert.ok(!/&/.test(whole.replace(reference, "")), `XML: bare '&' in text at offset ${m.index}`);
      if (stack.length === 0) assert.match(whole, /^\s*$/, "XML: text outside the root element");
    }
  }
  assert.equal(at, text.length);
  assert.deepEqual(stack, [], "XML: unclosed elements");
  assert.notEqual(root, "", "XML: no root element");
  return root;
}

/** The text content of every element whose class attribute contains `cls` (e.g. a legend's labels). */
function textsOfClass(svg: string, cls: string): string[] {
  const out: string[] = [];
  for (const m of svg.matchAll(markGroupPattern(cls))) {
    for (const t of (m[2] ?? "").matchAll(/<text[^>]*>([^<]*)<\/text>/g)) out.push(t[1]);
  }
  return out;
}

/** The content of each group whose class contains `cls` (e.g. one layer's marks, in one cell). */
function markGroups(svg: string, cls: string): string[] {
  return [...svg.matchAll(markGroupPattern(cls))].map((m) => m[2] ?? "");
}

/** Matches a `<g>` whose class contains `cls`, empty (`<g …/>`) or up to its first `</g>`. */
function markGroupPattern(cls: string): RegExp {
  return new RegExp(`<g class="[^"]*\\b${cls}\\b[^"]*"[^>]*?(/>|>(.*?)</g>)`, "g");
}

let rsvgChecked: string | undefined;

/**
 * The path of rsvg-convert, installing Debian's librsvg2-bin (as root) if it is missing; fails
 * with a message saying how to get it otherwise.
 */
async function rsvgConvert(): Promise<string> {
  if (rsvgChecked !== undefined) return rsvgChecked;
  const which = async () => {
    const r = await new Deno.Command("sh", { args: ["-c", "command -v rsvg-convert"], stdout: "piped" })
      .output();
    return r.success ? new TextDecoder().decode(r.stdout).trim() : "";
  };
  let path = await which();
  if (path === "" && Deno.uid() === 0) {
    for (
      const cmd of ["apt-get install -y librsvg2-bin", "apt-get update && apt-get install -y librsvg2-bin"]
    ) {
      const r = await new Deno.Command("sh", {
        args: ["-c", cmd],
        stdout: "null",
        stderr: "null",
        env: { DEBIAN_FRONTEND: "noninteractive" },
      }).output();
      if (r.success && (path = await which()) !== "") break;
    }
  }
  if (path === "") {
    assert.fail(
      "rsvg-convert is not installed and could not be installed here: run " +
        "`apt-get install -y librsvg2-bin` (Debian/Ubuntu, as root) to check that the plot renders",
    );
  }
  return rsvgChecked = path;
}

/** Converts SVG text to PNG bytes with rsvg-convert; fails with its stderr if it refuses. */
async function svgToPng(svg: string): Promise<Uint8Array> {
  const child = new Deno.Command(await rsvgConvert(), {
    args: ["--format", "png"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(svg));
  await writer.close();
  const r = await child.output();
  assert.equal(r.code, 0, `rsvg-convert failed: ${new TextDecoder().decode(r.stderr)}`);
  return r.stdout;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

Deno.test("the test's XML check rejects what is not well-formed", () => {
  assert.equal(checkWellFormedXml('<?xml version="1.0"?><svg a="1"><g/><text>a &amp; b</text></svg>'), "svg");
  for (
    const bad of ["<svg><g></svg>", "<svg>a & b</svg>", '<svg a="1" a="2"/>', "<svg/><svg/>", "<svg a=1/>"]
  ) {
    assert.throws(() => checkWellFormedXml(bad), assert.AssertionError, bad);
  }
});

Deno.test("a single plot is well-formed SVG with title, axis labels, split legend and a fit line", async () => {
  const svg = await renderFitPlot(decay(120));
  assert.equal(checkWellFormedXml(svg), "svg");
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.deepEqual(textsOfClass(svg, "role-title-text"), ["exponential decay"]);
  assert.ok(textsOfClass(svg, "role-axis-title").includes("time t (s)"));
  assert.ok(textsOfClass(svg, "role-axis-title").includes("signal y"));
  const legend = textsOfClass(svg, "role-legend-label");
  assert.ok(
    legend.includes("train") && legend.includes("test") && legend.includes("fit"),
    `legend: ${legend}`,
  );
  const lines = markGroups(svg, "mark-line role-mark");
  assert.equal(lines.length, 1);
  assert.match(lines[0], /<path [^>]*d="M[\d.]+,[\d.]+(L[\d.]+,[\d.]+){100,}"/);
  assert.equal(markGroups(svg, "mark-symbol role-mark")[0].match(/<path /g)?.length, 120, "one point a row");
});

Deno.test("the split boundary is a dashed rule at the first test x over a shaded test region", async () => {
  const p = decay(120); // rows 90..119 are the test split; x = 9.0 .. 11.9
  const svg = await renderFitPlot(p);
  const [rule] = markGroups(svg, "mark-rule role-mark");
  assert.match(rule, /aria-label="x: 9"[^>]*stroke-dasharray/);
  const [rect] = markGroups(svg, "mark-rect role-mark");
  assert.match(rect, /aria-label="x: 9; x2: 11\.9"/);
  assert.deepEqual(textsOfClass(svg, "mark-text role-mark"), ["train", "test"]);
});

Deno.test("an interleaved split has no one boundary, so none is drawn", async () => {
  const p = { ...decay(40), split: Array.from({ length: 40 }, (_, i) => i % 3 === 0 ? "test" : "train") };
  const svg = await renderFitPlot(p as FitPlotInput);
  assert.equal(checkWellFormedXml(svg), "svg");
  assert.deepEqual(markGroups(svg, "mark-rule role-mark"), [""]);
  assert.deepEqual(markGroups(svg, "mark-rect role-mark"), [""]);
  const legend = textsOfClass(svg, "role-legend-label");
  assert.ok(legend.includes("train") && legend.includes("test"), `legend: ${legend}`);
});

Deno.test("markup in the title and labels is escaped, not interpreted", async () => {
  const svg = await renderFitPlot({ ...decay(20), title: 'fit <a> & "b"', xLabel: "x < 1", yLabel: "y & z" });
  assert.equal(checkWellFormedXml(svg), "svg");
  assert.ok(svg.includes("fit &lt;a&gt; &amp; &quot;b&quot;") || svg.includes('fit &lt;a&gt; &amp; "b"'));
  assert.ok(svg.includes("x &lt; 1") && svg.includes("y &amp; z"));
});

Deno.test("non-finite fitted values leave the line only, and the subtitle says how many", async () => {
  const p = decay(50);
  const fitted = [...p.fitted];
  fitted[3] = NaN, fitted[10] = Infinity, fitted[11] = -Infinity;
  const svg = await renderFitPlot({ ...p, fitted });
  assert.equal(checkWellFormedXml(svg), "svg");
  assert.deepEqual(textsOfClass(svg, "role-title-subtitle"), [
    "3 non-finite fitted values left out of the line",
  ]);
  assert.equal(markGroups(svg, "mark-symbol role-mark")[0].match(/<path /g)?.length, 50, "every point stays");
  const [line] = markGroups(svg, "mark-line role-mark");
  assert.equal(line.match(/[ML]/g)?.length, 47, "the line has one vertex per finite fitted value");
  assert.doesNotMatch(svg, /NaN|Infinity/);
});

Deno.test("non-finite x drops the row and non-finite observations drop the point", async () => {
  const p = decay(30);
  const x = Float64Array.from(p.x), observed = [...p.observed];
  x[0] = NaN, observed[5] = NaN;
  const svg = await renderFitPlot({ ...p, x, observed });
  assert.equal(markGroups(svg, "mark-symbol role-mark")[0].match(/<path /g)?.length, 28);
  assert.deepEqual(textsOfClass(svg, "role-title-subtitle"), [
    "1 row with non-finite x left out; 1 non-finite observation left out",
  ]);
  assert.doesNotMatch(svg, /NaN|Infinity/);
});

Deno.test("panels facet into a grid at most 4 wide, each named, with a line and a boundary each", async () => {
  const p = cells();
  const svg = await renderFitPlot(p);
  assert.equal(checkWellFormedXml(svg), "svg");
  for (let c = 1; c <= 6; c++) assert.ok(svg.includes(`>cell ${c}</text>`), `panel 'cell ${c}' is named`);
  // Each panel's plot area is a background rectangle at the panel's offset in the grid.
  const cellsAt = [
    ...svg.matchAll(
      /<g transform="translate\(([\d.]+),([\d.]+)\)"><path class="background"[^>]*d="M0\.5,0\.5h220v150h-220Z"/g,
    ),
  ];
  assert.equal(cellsAt.length, 6, "six panels");
  assert.equal(new Set(cellsAt.map((m) => m[1])).size, 4, "four columns");
  assert.equal(new Set(cellsAt.map((m) => m[2])).size, 2, "two rows");
  assert.equal(markGroups(svg, "mark-line role-mark").length, 6, "a line per panel");
  const rules = markGroups(svg, "mark-rule role-mark");
  assert.deepEqual(rules.map((r) => r.match(/aria-label="x: (\d+)"/)?.[1]), [
    "30",
    "36",
    "42",
    "48",
    "54",
    "60",
  ]);
  const legend = textsOfClass(svg, "role-legend-label");
  assert.ok(legend.includes("train") && legend.includes("test"), `legend: ${legend}`);
});

Deno.test("columns of the wrong length or a bad split are rejected, naming the column", async () => {
  const p = decay(10);
  await assert.rejects(
    () => renderFitPlot({ ...p, fitted: p.fitted.slice(1) }),
    (e) =>
      e instanceof DmciError && e.kind === "data" && /'fitted' has 9 rows but 'x' has 10/.test(e.message),
  );
  await assert.rejects(
    () => renderFitPlot({ ...p, panels: ["a"] }),
    (e) => e instanceof DmciError && /'panels' has 1 rows/.test(e.message),
  );
  await assert.rejects(
    () =>
      renderFitPlot({
        ...p,
        split: p.split.map((s, i) => i === 4 ? "validation" : s) as FitPlotInput["split"],
      }),
    (e) => e instanceof DmciError && /split of row 4 is "validation"/.test(e.message),
  );
});

Deno.test("no rows still renders an empty, well-formed plot", async () => {
  const svg = await renderFitPlot({
    title: "empty",
    xLabel: "x",
    yLabel: "y",
    x: [],
    observed: [],
    fitted: [],
    split: [],
  });
  assert.equal(checkWellFormedXml(svg), "svg");
  assert.ok(svg.includes(">empty</text>"));
});

Deno.test("1000 points render, one symbol each (the time is measured in bench/plot_bench.ts)", async () => {
  const svg = await renderFitPlot(decay(1000));
  assert.equal(markGroups(svg, "mark-symbol role-mark")[0].match(/<path /g)?.length, 1000);
});

Deno.test("the SVG renders to a non-empty PNG with rsvg-convert, single and faceted", async () => {
  for (const p of [decay(120), cells()]) {
    const png = await svgToPng(await renderFitPlot(p));
    assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE);
    assert.ok(png.length > 5000, `PNG of ${png.length} bytes`);
  }
});

Deno.test("rendering needs no permissions and prints nothing under deno run --no-config", async () => {
  const plot = fileURLToPath(new URL("../lib/fit/plot.ts", import.meta.url));
  const script = `import { renderFitPlot } from ${JSON.stringify(new URL(`file://${plot}`).href)};
    const svg = await renderFitPlot({ title: "t", xLabel: "x", yLabel: "y", x: [1, 2, 3], observed: [1, 2, 3],
      fitted: [1, 2, 3], split: ["train", "train", "test"], panels: ["a", "a", "b"] });
    await Deno.stdout.write(new TextEncoder().encode(String(svg.startsWith("<svg"))));`;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--no-prompt", "--no-lock", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = r.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const out = await r.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.equal(new TextDecoder().decode(out.stdout), "true");
  assert.equal(stderr.replace(/^Download .*\n/gm, ""), "", "nothing printed on stderr");
});
