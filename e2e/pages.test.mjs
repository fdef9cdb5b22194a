// End-to-end test of Wholecare's web pages in Chromium, as every demo role
// sees them: signs in through the real form, crawls the pages the role can
// reach from its start page and checks each one (no server errors, no
// console errors — a page breaking the CSP shows up as one — exactly one
// h1, and axe-core's WCAG 2.1 A/AA rules with no serious or critical
// violation). It talks to a demo server already running (./run-pages starts
// one):
//
//   WHOLECARE_URL          the server's address, e.g. http://127.0.0.1:8080
//   WHOLECARE_SIGNINS      JSON [{role, name, password}] of the demo sign-ins
//   WHOLECARE_E2E_STRICT   1 (default): a navigation link that answers 4xx
//                          fails; 0: such links are only listed
//   WHOLECARE_E2E_ARTIFACTS  screenshots, axe-results.json, crawl.json
//                          (default ./artifacts)
//   WHOLECARE_E2E_MAX_PAGES  pages to crawl per role (default 25)

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  artifacts,
  axeContext,
  checkA11y,
  crawl,
  launch,
  newContext,
  pattern,
  report,
  shot,
  signIn,
  strict,
  writeReport,
} from "./lib.mjs";

const baseURL = process.env.WHOLECARE_URL;
assert.ok(baseURL, "WHOLECARE_URL is not set: run ./run-pages");
const signins = JSON.parse(process.env.WHOLECARE_SIGNINS || "[]");
const maxPages = Number(process.env.WHOLECARE_E2E_MAX_PAGES || 25);

// The demo accounts and the names the header shows for them, as
// cmd/wholecare/signins.go creates them.
const accounts = [
  ["coordinator", "demo.coordinator", "Demo Care Coordinator"],
  ["clinician", "demo.clinician", "Demo GP"],
  ["social worker", "demo.social", "Demo Social Worker"],
  ["team lead", "demo.teamlead", "Demo Community Matron (team lead)"],
  ["commissioner", "demo.commissioner", "Demo Commissioner"],
  ["analyst", "demo.analyst", "Demo Analyst"],
  ["admin", "demo.admin", "Demo Administrator (privacy officer)"],
  ["person", "demo.person", "Demo Service User"],
  ["carer", "demo.carer", "Demo Carer"],
];

function password(name) {
  const s = signins.find((x) => x.name === name);
  assert.ok(s, `no demo sign-in for ${name} in WHOLECARE_SIGNINS`);
  return s.password;
}

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
  writeReport();
  console.log(`screenshots and axe-results.json are in ${artifacts}`);
});

// watch records, for one page, responses answered 5xx and console errors.
// Chromium logs "Failed to load resource" for every 4xx: for the page's
// own document the crawl lists those (see strict), and /favicon.ico is
// requested by the browser, not by any page, so neither is a console
// error of the page.
function watch(page) {
  const w = { errors: [], server: [] };
  page.on("response", (r) => {
    if (r.status() >= 500) w.server.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on("pageerror", (err) => w.errors.push(`uncaught: ${err.message}`));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const at = m.location()?.url || "";
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      const p = at ? new URL(at) : null;
      if (p && (p.pathname === "/favicon.ico" || p.href === page.url())) return;
    }
    w.errors.push(`${m.text()}${at ? ` (${at})` : ""}`);
  });
  w.take = () => {
    const got = { errors: w.errors.splice(0), server: w.server.splice(0) };
    return got;
  };
  return w;
}

async function h1Count(page) {
  return page.locator("h1").count();
}

test("the sign-in page is accessible", async () => {
  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  const w = watch(page);
  const res = await page.goto(new URL("/sign-in", baseURL).href);
  assert.equal(res.status(), 200);
  assert.equal(await h1Count(page), 1);
  await shot(page, "signed-out-sign-in");
  const ax = await (await axeContext(browser)).newPage();
  await ax.goto(page.url());
  await checkA11y(ax, "sign-in");
  // A page nobody links to, signed out: the error page of the frame.
  const nf = await page.goto(new URL("/no-such-page", baseURL).href);
  assert.equal(nf.status(), 404);
  assert.equal(await h1Count(page), 1);
  assert.match(await page.locator("h1").innerText(), /Page not found/);
  await shot(page, "signed-out-not-found");
  await ax.goto(page.url());
  await checkA11y(ax, "not-found (signed out)");
  assert.deepEqual(w.take(), { errors: [], server: [] });
  await ax.context().close();
  await ctx.close();
});

test('a wrong password shows "There is a problem"', async () => {
  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  const w = watch(page);
  const res = await signIn(page, baseURL, "demo.coordinator", "not-the-password");
  assert.ok(res.status() < 500, `sign-in answered ${res.status()}`);
  assert.equal(new URL(page.url()).pathname, "/sign-in");
  const summary = page.locator(".error-summary");
  await summary.waitFor();
  assert.match(await summary.innerText(), /There is a problem/);
  assert.equal(await page.getByLabel("Account name", { exact: true }).inputValue(), "demo.coordinator");
  assert.equal(await page.getByLabel("Password", { exact: true }).inputValue(), "", "the password must not be sent back");
  assert.equal(await h1Count(page), 1);
  await shot(page, "signed-out-sign-in-wrong-password");
  // The error state is checked for accessibility too: the same failed
  // sign-in, in the axe context.
  const actx = await axeContext(browser);
  const ax = await actx.newPage();
  await signIn(ax, baseURL, "demo.coordinator", "not-the-password");
  await checkA11y(ax, "sign-in with an error");
  assert.deepEqual(w.take(), { errors: [], server: [] });
  await actx.close();
  await ctx.close();
});

test("a signed-out visit to /worklist signs in and returns to /worklist", async (t) => {
  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  const res = await page.goto(new URL("/worklist", baseURL).href);
  if (res.status() === 404 && !strict) {
    t.skip("/worklist is not built yet (404) and WHOLECARE_E2E_STRICT=0");
    await ctx.close();
    return;
  }
  const at = new URL(page.url());
  assert.equal(at.pathname, "/sign-in", `a signed-out /worklist answered ${res.status()} at ${page.url()}`);
  assert.equal(at.searchParams.get("next"), "/worklist");
  await signIn(page, baseURL, "demo.coordinator", password("demo.coordinator"));
  assert.equal(new URL(page.url()).pathname, "/worklist");
  await ctx.close();
});

test('keyboard: "Skip to main content" is the first Tab stop and shows when focused', async () => {
  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  await signIn(page, baseURL, "demo.coordinator", password("demo.coordinator"));
  // A fresh load of the start page, as a keyboard user arrives at it.
  await page.goto(page.url());
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => {
    const a = document.activeElement;
    const r = a.getBoundingClientRect();
    return { text: a.textContent.trim(), href: a.getAttribute("href"), x: r.left, y: r.top, w: r.width, h: r.height };
  });
  assert.equal(focused.text, "Skip to main content");
  assert.ok(
    focused.w > 0 && focused.h > 0 && focused.x >= 0 && focused.y >= 0 && focused.x < 1280 && focused.y < 900,
    `the focused skip link is not in view: ${JSON.stringify(focused)}`,
  );
  await shot(page, "keyboard-skip-link-focused");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement.id), "main", "the skip link does not move focus to main");
  await ctx.close();
});

test("the accessibility check fails on a page with serious violations", async () => {
  const actx = await axeContext(browser);
  const ax = await actx.newPage();
  // No lang, an image without alt text, a field without a label.
  await ax.setContent('<!doctype html><title>Bad</title><main><h1>Bad</h1><img src="data:,"><input type="text"></main>');
  await assert.rejects(checkA11y(ax, "self-test: a page built to fail"), /serious\/critical accessibility violation/);
  await actx.close();
});

describe("every role's pages", () => {
  for (const [role, name, display] of accounts) {
    // A bound, so that a hung page fails the run instead of stalling CI.
    test(`${role} (${name})`, { timeout: 10 * 60_000 }, async (t) => {
      const ctx = await newContext(browser);
      const page = await ctx.newPage();
      const w = watch(page);
      const landed = await signIn(page, baseURL, name, password(name));
      const home = page.url();
      assert.notEqual(new URL(home).pathname, "/sign-in", `${name} could not sign in`);
      assert.ok(landed && landed.status() < 500, `landing page answered ${landed?.status()}`);
      assert.ok((await h1Count(page)) >= 1, "the landing page has no h1");
      assert.match(await page.locator("header").innerText(), new RegExp(display.replace(/[()]/g, "\\$&")));
      const slug = role.replace(/ /g, "-");
      await shot(page, `${slug}-landing`);

      const actx = await axeContext(browser, ctx);
      const ax = await actx.newPage();
      const problems = [];
      const shotPaths = new Set();
      w.take();
      const visited = await crawl(page, baseURL, home, maxPages, async ({ url, path, status }) => {
        const where = `${path} (${status})`;
        const h1s = await h1Count(page);
        if (h1s !== 1) problems.push(`${where}: ${h1s} h1 elements`);
        const seen = w.take();
        for (const e of seen.server) problems.push(`${where}: server error ${e}`);
        for (const e of seen.errors) problems.push(`${where}: console: ${e}`);
        // Screenshot and axe once per kind of page (see pattern).
        const kind = pattern(path);
        if (shotPaths.has(kind)) return;
        shotPaths.add(kind);
        await shot(page, `${slug}${kind === "/" ? "-root" : kind}`);
        await ax.goto(url);
        try {
          await checkA11y(ax, `${role} ${path}`);
        } catch (err) {
          problems.push(String(err.message));
        }
      });
      const broken = visited.broken;
      report.crawls[role] = { home, visited, broken };
      t.diagnostic(`${visited.length} pages visited; ${broken.length} answered 4xx`);
      for (const b of broken) {
        t.diagnostic(`${b.status} ${b.url}${b.fromNav ? " (navigation link)" : ""}${b.from ? ` from ${b.from}` : ""}`);
      }
      if (strict) {
        for (const b of broken.filter((b) => b.fromNav)) problems.push(`navigation link ${b.url} answered ${b.status}`);
      }
      await actx.close();
      await ctx.close();
      assert.deepEqual(problems, [], `${role}: ${problems.length} problem(s)`);
    });
  }
});
