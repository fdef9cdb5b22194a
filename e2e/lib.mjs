// Helpers for driving Wholecare's web pages in a real browser: Debian's
// Chromium through playwright-core (no browser download, ever), axe-core
// for accessibility. Used by pages.test.mjs; ./run-pages says how to run.

import assert from "node:assert/strict";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

// artifacts is where screenshots and the JSON reports go.
export const artifacts = path.resolve(process.env.WHOLECARE_E2E_ARTIFACTS || path.join(here, "artifacts"));
fs.mkdirSync(artifacts, { recursive: true });

// strict: a navigation link that answers 4xx fails the run. Off only while
// pages the navigation points to are still being built.
export const strict = process.env.WHOLECARE_E2E_STRICT !== "0";

const axeSource = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const axeTags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

// report gathers what the run found, written out by writeReport.
export const report = { axe: [], crawls: {} };

// launch starts Debian's Chromium headless. The machine's network is
// closed: these flags stop Chromium calling home (updates, sync, QUIC
// probes), which otherwise floods the log with refused connections.
export function launch() {
  return chromium.launch({
    executablePath: process.env.WHOLECARE_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

// newContext is a browser context as a user has it: the site's
// Content-Security-Policy enforced, so a page that breaks the CSP shows up
// as a console error.
export function newContext(browser) {
  return browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-GB" });
}

// axeContext is a second context for the accessibility checks only, with
// the same cookies (session) as from. bypassCSP is needed here and nowhere
// else: the app's CSP (default-src 'self', no inline scripts) rightly
// blocks page.addScriptTag({content}) of axe's source, and the pages
// themselves are checked against the real CSP in the context from.
export async function axeContext(browser, from) {
  return browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: "en-GB",
    bypassCSP: true,
    storageState: from ? await from.storageState() : undefined,
  });
}

// signIn signs in through the real form at /sign-in (staying on it if the
// page is already there, e.g. after a redirect with ?next=) and returns the
// response to the page the browser lands on.
export async function signIn(page, baseURL, name, password) {
  const at = page.url().startsWith("http") ? new URL(page.url()) : null;
  if (!at || at.origin !== new URL(baseURL).origin || at.pathname !== "/sign-in") {
    await page.goto(new URL("/sign-in", baseURL).href);
  }
  await page.getByLabel("Account name", { exact: true }).fill(name);
  await page.getByLabel("Password", { exact: true }).fill(password);
  let landed = null;
  const onResponse = (r) => {
    if (r.frame() === page.mainFrame() && r.request().isNavigationRequest()) landed = r;
  };
  page.on("response", onResponse);
  try {
    const loaded = page.waitForEvent("load");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await loaded;
  } finally {
    page.off("response", onResponse);
  }
  return landed;
}

// checkA11y runs axe on page (which must be in an axeContext) with the
// WCAG 2.0/2.1 A and AA rules, records the results for the JSON report, and
// fails on any violation of serious or critical impact, printing each.
export async function checkA11y(page, label) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) {
    await page.addScriptTag({ content: axeSource });
  }
  const res = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }),
    axeTags,
  );
  const violations = res.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    targets: v.nodes.map((n) => n.target.join(" ")),
  }));
  report.axe.push({ label, url: page.url(), violations });
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of violations) {
    console.log(`  axe ${label}: ${v.id} (${v.impact}) ${v.help}: ${v.targets.join(", ")}`);
  }
  assert.equal(
    bad.length,
    0,
    `${label}: ${bad.length} serious/critical accessibility violation(s): ` +
      bad.map((v) => `${v.id} (${v.impact}) ${v.help} at ${v.targets.join(", ")}`).join("; "),
  );
  return violations;
}

// shot saves a full-page PNG of page as name in the artefacts directory.
export async function shot(page, name) {
  const file = path.join(artifacts, name.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^_+|_+$/g, "") + ".png");
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// Paths that are not pages to crawl: the API, FHIR, assets, sign-in with
// an outside identity provider, operational endpoints, signing out.
const notPages = [/^\/api\//, /^\/fhir\//, /^\/assets\//, /^\/auth\//, /^\/sign-out/, /^\/(healthz|readyz|metrics)$/];

// pattern is a page's path with its record ids as {id}, so that one
// kind of page (/people/17, /people/342) is screenshotted and checked
// with axe once: the template is the same, and axe is the slow part.
export function pattern(pathname) {
  return pathname
    .split("/")
    .map((seg) => (/^(\d+|[0-9a-f]{8}-[0-9a-f-]{27}|[0-9a-f]{16,})$/i.test(seg) ? "{id}" : seg))
    .join("/");
}

// crawl visits same-origin GET links found in `nav a` and `main a`,
// breadth first from start, up to max pages. It skips sign-out, /assets,
// /api, /fhir, print pages (format=text) and any query-string variant of
// a path beyond the first, and pages of a kind (pattern) beyond the
// second. onPage(info) is called on every page visited,
// with the page loaded: {url, path, status, fromNav, response}. Returns
// the visited URLs; links that answered 4xx are in the returned .broken.
export async function crawl(page, baseURL, start, max, onPage = async () => {}) {
  const origin = new URL(baseURL).origin;
  const queue = [{ url: new URL(start, baseURL).href, fromNav: true, from: null }];
  const seen = new Set([queue[0].url]);
  const queried = new Set(); // paths already queued with a query string
  const done = new Set(); // pages checked, by the URL they ended at
  const kinds = new Map([[pattern(new URL(queue[0].url).pathname), 1]]); // pages queued per pattern
  const perKind = 2;
  const visited = [];
  const broken = [];
  while (queue.length > 0 && visited.length < max) {
    const item = queue.shift();
    let response;
    try {
      response = await page.goto(item.url, { waitUntil: "load" });
    } catch (err) {
      // A download (CSV, export) is not a page.
      if (/Download is starting/.test(String(err))) continue;
      throw err;
    }
    const u = new URL(page.url());
    u.hash = "";
    // A link that redirects to a page already checked (/ to the start
    // page, say) has nothing new to check.
    if (done.has(u.href)) continue;
    done.add(u.href);
    const status = response ? response.status() : 0;
    visited.push(item.url);
    if (status >= 400 && status < 500) broken.push({ url: item.url, status, fromNav: item.fromNav, from: item.from });
    const type = response?.headers()["content-type"] || "";
    if (!type.startsWith("text/html")) continue;
    await onPage({ url: item.url, path: u.pathname, status, fromNav: item.fromNav, response });
    const links = await page.$$eval("nav a[href], main a[href]", (as) =>
      as
        .filter((a) => !a.hasAttribute("download"))
        .map((a) => ({ href: a.href, nav: a.closest("nav") !== null })),
    );
    for (const l of links) {
      const v = new URL(l.href);
      v.hash = "";
      if (v.origin !== origin || notPages.some((re) => re.test(v.pathname))) continue;
      if (v.searchParams.get("format") === "text") continue;
      const href = v.href;
      if (seen.has(href)) {
        // A link seen in the navigation counts as a navigation link.
        if (l.nav) for (const q of queue) if (q.url === href) q.fromNav = true;
        continue;
      }
      if (v.search) {
        if (queried.has(v.pathname)) continue;
        queried.add(v.pathname);
      }
      // A worklist links to dozens of people and alerts: two of a kind
      // are enough, and leave the budget for other kinds of page.
      // Navigation links are always followed.
      const kind = pattern(v.pathname);
      if (!l.nav && (kinds.get(kind) || 0) >= perKind) continue;
      kinds.set(kind, (kinds.get(kind) || 0) + 1);
      seen.add(href);
      queue.push({ url: href, fromNav: l.nav, from: item.url });
    }
  }
  visited.broken = broken;
  return visited;
}

// writeReport writes the axe results and the crawl results as JSON into
// the artefacts directory.
export function writeReport() {
  fs.writeFileSync(path.join(artifacts, "axe-results.json"), JSON.stringify(report.axe, null, 2));
  fs.writeFileSync(path.join(artifacts, "crawl.json"), JSON.stringify(report.crawls, null, 2));
}
