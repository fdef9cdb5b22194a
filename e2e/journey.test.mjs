// The care coordinator's journey, end to end in Chromium against the demo:
// find a person by NHS number, read their summary, open their care plan,
// add goals and actions from a care protocol with a goal in the person's
// own words, record the professional's agreement; the person signs in and
// agrees too, so the plan is agreed by both; the coordinator resolves an
// alert from the worklist; a commissioner views the population dashboard.
// Each step is checked for what a person would see, and screenshots of
// the main pages are saved for the README.
//
// Environment as for pages.test.mjs (WHOLECARE_URL, WHOLECARE_SIGNINS,
// WHOLECARE_E2E_ARTIFACTS); ./run-pages runs both.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import path from "node:path";

import { artifacts, axeContext, checkA11y, launch, newContext, shot, signIn } from "./lib.mjs";

// readmeShot saves what fits on one screen, for the README.
async function readmeShot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `readme-${name}.png`), fullPage: false });
}

const baseURL = process.env.WHOLECARE_URL;
assert.ok(baseURL, "WHOLECARE_URL is not set: run ./run-pages");
const signins = JSON.parse(process.env.WHOLECARE_SIGNINS || "[]");

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
});

const words = "I want to walk to the shop and back without stopping by the summer";

test("a coordinator finds a person, plans with them from a protocol, and both agree the plan", async () => {
  // The person's NHS number, as they see it on their own record.
  const pctx = await newContext(browser);
  const me = await pctx.newPage();
  await signIn(me, baseURL, "demo.person", password("demo.person"));
  await me.goto(new URL("/me", baseURL).href);
  const nhs = (await me.locator("dt", { hasText: "NHS number" }).locator("xpath=following-sibling::dd[1]").innerText()).match(/\d{3} \d{3} \d{4}/)?.[0];
  assert.ok(nhs, "the person's own record shows no NHS number");
  const name = (await me.locator("h1").innerText()).trim();

  // The coordinator finds them.
  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  await signIn(page, baseURL, "demo.coordinator", password("demo.coordinator"));
  await shot(page, "journey-1-worklist");
  await page.getByRole("link", { name: "Find a person", exact: true }).click();
  await page.getByLabel("NHS number, name or date of birth").fill(nhs);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  const hit = page.locator("main a[href^='/people/']").first();
  await hit.waitFor();
  await shot(page, "journey-2-search");
  await hit.click();
  assert.match(new URL(page.url()).pathname, /^\/people\/\d+$/);
  const summary = await page.locator("main").innerText();
  assert.ok(summary.includes(nhs), "the summary does not show the NHS number searched for");
  for (const heading of ["Conditions", "Measurements"]) {
    assert.ok(await page.getByRole("heading", { name: heading }).count(), `the summary has no "${heading}" section`);
  }
  await shot(page, "journey-3-person-summary");
  await readmeShot(page, "person-summary");
  const ax = await axeContext(browser, ctx);
  const axp = await ax.newPage();
  // a11y checks the page the coordinator is on, as they see it, with axe.
  const a11y = async (label) => {
    await axp.goto(page.url());
    await checkA11y(axp, label);
  };
  await a11y("person summary (journey)");
  // Down to a tablet: nothing runs off the side of the screen.
  await page.setViewportSize({ width: 768, height: 1024 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the person summary is ${overflow}px wider than a 768px tablet screen`);
  await shot(page, "journey-3-person-summary-tablet");
  await page.setViewportSize({ width: 1280, height: 900 });

  // Their plan, and a protocol's suggestions.
  await page.locator("main a[href^='/careplans/']").first().click();
  assert.match(new URL(page.url()).pathname, /^\/careplans\/\d+$/);
  const planURL = page.url();
  await page.getByRole("link", { name: /Add goals and actions from a (care )?protocol/ }).first().click();
  await shot(page, "journey-4-protocols");
  await a11y("protocols for a person (journey)");
  await page.getByRole("link", { name: /^Use .* in the plan/ }).first().click();
  assert.match(new URL(page.url()).pathname, /^\/careplans\/\d+\/protocols\/[a-z0-9-]+$/);
  // The first goal, accepted in the person's words; the first other item accepted as it is.
  const goal = page.locator("fieldset.plan-item", { has: page.getByLabel("The goal in the person's own words") }).first();
  await goal.getByLabel("Accept", { exact: true }).check();
  await goal.getByLabel("The goal in the person's own words").fill(words);
  const item = page.locator("fieldset.plan-item", { has: page.getByLabel("If you edit it: the new wording") }).first();
  await item.getByLabel("Accept", { exact: true }).check();
  await shot(page, "journey-5-protocol-proposal");
  await a11y("a protocol's proposal (journey)");
  await page.getByRole("button", { name: "Add the accepted items to the plan" }).click();
  assert.equal(page.url().split("?")[0], planURL);
  assert.ok((await page.locator("main").innerText()).includes(words), "the plan does not show the goal in the person's words");

  // The professional's agreement.
  await page.getByRole("button", { name: "Record my agreement" }).click();
  assert.match(await page.locator("main").innerText(), /a professional has agreed/);
  await shot(page, "journey-6-plan-professional-agreed");
  await readmeShot(page, "care-plan");
  await a11y("the care plan, staff view (journey)");

  // The person reads their plan and agrees.
  await me.goto(new URL("/me/plan", baseURL).href);
  assert.equal(me.url().split("?")[0], planURL, "the person's /me/plan is not the plan the coordinator edited");
  assert.ok((await me.locator("main").innerText()).includes(words), "the person's view does not show their goal");
  await me.getByRole("button", { name: "I agree to this plan" }).click();
  assert.match(await me.locator("main").innerText(), /Agreed by me and by a professional/);
  await shot(me, "journey-7-person-agreed");
  const pax = await axeContext(browser, pctx);
  const paxp = await pax.newPage();
  await paxp.goto(me.url());
  await checkA11y(paxp, "the care plan, the person's own view (journey)");
  await pax.close();
  await ax.close();
  await pctx.close();
  await ctx.close();
});

test("a coordinator resolves an alert from their worklist", async () => {
  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  await signIn(page, baseURL, "demo.coordinator", password("demo.coordinator"));
  await page.goto(new URL("/worklist", baseURL).href);
  const open = page.locator("main a[href^='/alerts/']");
  // The rules run when the server starts: wait for the first alerts.
  for (let i = 0; i < 60 && (await open.count()) === 0; i++) {
    await page.waitForTimeout(1000);
    await page.reload();
  }
  assert.ok((await open.count()) > 0, "the coordinator's worklist has no alerts");
  const href = await open.first().getAttribute("href");
  await open.first().click();
  await shot(page, "journey-8-alert");
  await page.getByLabel("What was done").fill("Rang the person; GP review booked for Thursday.");
  await page.getByRole("button", { name: "Resolve the alert" }).click();
  assert.match(await page.locator("main").innerText(), /Alert resolved/);
  await page.goto(new URL("/worklist", baseURL).href);
  assert.equal(await page.locator(`main a[href='${href}']`).count(), 0, "the resolved alert is still on the open worklist");
  await ctx.close();
});

test("a commissioner views the population dashboard", async () => {
  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  await signIn(page, baseURL, "demo.commissioner", password("demo.commissioner"));
  await page.goto(new URL("/dashboard", baseURL).href);
  // The population engine may still be loading: the page refreshes itself.
  for (let i = 0; i < 60 && (await page.locator("svg[role=img]").count()) === 0; i++) {
    await page.waitForTimeout(1000);
    await page.reload();
  }
  assert.ok((await page.locator("svg[role=img]").count()) >= 3, "the dashboard draws fewer than three charts");
  assert.ok(await page.locator("table caption", { hasText: /Kaiser/i }).count(), "no Kaiser pyramid data table");
  await shot(page, "journey-9-dashboard");
  // For the README: the charts, from the Kaiser pyramid down.
  await page.getByRole("heading", { name: /Kaiser/ }).first().evaluate((h) => h.scrollIntoView());
  await readmeShot(page, "dashboard");
  await ctx.close();
});
