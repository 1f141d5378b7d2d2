import { existsSync, mkdirSync } from "node:fs"
import { Effect, Option, Ref, Schema } from "effect"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Job from "../../src/core/Job.js"
import * as JobParams from "../../src/core/JobParams.js"
import { makeEventId } from "../../src/domain/Ids.js"
import { JobEvent } from "../../src/domain/JobEvent.js"
import { JobOutcome } from "../../src/domain/JobOutcome.js"
import type { JobType } from "../../src/domain/Names.js"
import { memoryStores, type Stores } from "../support/harness.js"
import { makeSwitchableStores, startServer, type Target } from "../support/httpHarness.js"
import { seedRuns } from "../support/httpSeed.js"

/**
 * The dashboard in a real browser: Debian's chromium (`apt-get install -y chromium`; another binary
 * with CHROMIUM_PATH), driven by playwright-core. Real time, short jobs. Screenshots go to
 * test-artifacts/ (not committed); SCREENSHOT_README=1 also writes docs/dashboard.png.
 */
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const missing = existsSync(executablePath)
  ? undefined
  : `no browser at ${executablePath}: apt-get install -y chromium (or set CHROMIUM_PATH)`
// Like Cassandra: without a browser these tests skip, saying why, except with CI=true, where
// nothing may skip.
const skip = missing !== undefined && process.env.CI !== "true"
if (skip) console.warn(`dashboard browser tests skipped: ${missing}`)
const artifacts = "test-artifacts"
const basePath = "/ops/ha-jobs"
const payload = "<img src=x onerror=alert(1)>"

const SalesParams = Schema.Struct({ region: Schema.Literal("emea", "apac"), day: Schema.String })

const jobs = [
  Job.make({
    type: "import-products",
    lockType: "products",
    cron: "0 0 2 ? * MON-FRI",
    timeZone: "Europe/Berlin",
    run: Effect.sleep("1500 millis").pipe(
      Effect.as({ imported: 1284, skipped: 3, source: { feed: "s3://feeds/products.csv", bytes: 5242880 } }),
    ),
  }),
  Job.make({ type: "export-products", lockType: "products", run: Effect.sleep("300 millis") }),
  // Its last success is a day old (seeded): overdue, shown with a red badge.
  Job.make({
    type: "nightly-report",
    cron: "0 30 1 * * ?",
    expect: { successWithin: "2 hours" },
    run: Effect.succeed({ rows: 42 }),
  }),
  // Runs past its maxDuration: OVERRUNNING while it runs, set and cleared by live events.
  Job.make({ type: "slow-sync", maxDuration: "1 second", run: Effect.sleep("8 seconds") }),
  Job.make({
    type: "xss-probe",
    run: Effect.succeed(
      JobOutcome.warning({ html: payload, nested: { list: [payload, 1, true, null] } }, payload),
    ),
  }),
  // Takes params: the dashboard's Trigger opens a JSON editor for them.
  Job.make({
    type: "sales-report",
    params: SalesParams,
    run: Effect.map(JobParams.get(SalesParams), (p) => ({ region: Option.getOrThrow(p).region })),
  }),
]

const seed = (stores: Stores) =>
  Effect.runPromise(
    Effect.all([
      seedRuns(stores, "import-products", "products", [
        // 130 progress statuses: more than one page (100) of the execution's statuses.
        { startedAgo: 300, seconds: 95, state: "FINISHED", content: { imported: 1210 }, progress: 130 },
        { startedAgo: 240, seconds: 101, state: "FINISHED", content: { imported: 1262 } },
        {
          startedAgo: 180,
          seconds: 140,
          state: "WARNING",
          content: { imported: 1190 },
          reason: "3 rows skipped",
        },
        { startedAgo: 120, seconds: 12, state: "FAILED", reason: "feed unreachable: connect ETIMEDOUT" },
        { startedAgo: 119, seconds: 97, state: "FINISHED", content: { imported: 1270 }, source: "retry" },
        { startedAgo: 60, seconds: 40, state: "CANCELED", reason: "cancelled", source: "manual" },
        {
          startedAgo: 30,
          seconds: 0,
          state: "SKIPPED",
          reason: "overlap: export-products still holds lock products",
        },
        { startedAgo: 20, seconds: 330, state: "DEAD", reason: "lease expired without a final status" },
      ]),
      seedRuns(stores, "nightly-report", "nightly-report", [
        { startedAgo: 1440, seconds: 20, state: "FINISHED", content: { rows: 40 } },
        { startedAgo: 5, seconds: 300, state: "DEAD", reason: "no renewal for 5 minutes" },
      ]),
      // 25 executions for paging (page size 20).
      seedRuns(
        stores,
        "export-products",
        "products",
        Array.from({ length: 25 }, (_, i) => ({
          startedAgo: 600 - i * 10,
          seconds: 2,
          state: "FINISHED" as const,
        })),
      ),
    ]),
  )

let browser: Browser
let app: Target
let stores: Stores
let storeDown: Ref.Ref<boolean>
let page: Page
const problems: Array<string> = []
const requests: Array<string> = []

const api = async (method: string, path: string, init: RequestInit = {}) => {
  const res = await app.fetch(`${basePath}${path}`, { method, ...init })
  return { status: res.status, body: (await res.json()) as any }
}
const open = async (hash = "") => {
  await page.goto(`${app.baseUrl}${basePath}/jobsOverview${hash}`)
  await page.locator(".card, #type-header").first().waitFor()
}
const shot = (name: string) => page.screenshot({ path: `${artifacts}/dashboard-${name}.png`, fullPage: true })

beforeAll(async () => {
  if (skip) return
  if (missing !== undefined) throw new Error(`a browser is required when CI=true: ${missing}`)
  mkdirSync(artifacts, { recursive: true })
  ;({ stores, down: storeDown } = Effect.runSync(makeSwitchableStores))
  await seed(stores)
  ;[browser, app] = await Promise.all([
    chromium.launch({
      executablePath,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-background-networking",
        "--disable-gpu",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    }),
    startServer({
      stores,
      jobs,
      http: { basePath, eventsInterval: "200 millis" },
      haJobs: { expectations: { checkEvery: "500 millis" } },
    }),
  ])
})
afterAll(async () => {
  await browser?.close()
  await app?.close()
})

describe.skipIf(skip)("the dashboard in Chromium, mounted at /ops/ha-jobs", () => {
  beforeAll(async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.setDefaultTimeout(5_000)
    page.on("dialog", (d) => {
      problems.push(`dialog ${d.type()}: ${d.message()}`)
      void d.dismiss()
    })
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`))
    page.on("console", (m) => {
      // Chrome logs every non-2xx answer (the 409s we provoke); CSP violations and the rest count.
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource"))
        problems.push(`console: ${m.text()}`)
    })
    page.on("request", (r) => requests.push(new URL(r.url()).pathname))
  })
  afterEach(() => {
    expect(problems.splice(0), "no dialogs, page errors or console errors (CSP included)").toEqual([])
  })

  it("lists every job type with its latest state (coloured, DEAD included) and the schedule in English", async () => {
    await open()
    const cards = page.locator(".card")
    await expect.poll(() => cards.count()).toBe(6)
    expect(await page.locator(".card h3 a").allTextContents()).toEqual([
      "import-products",
      "export-products",
      "nightly-report",
      "slow-sync",
      "xss-probe",
      "sales-report",
    ])
    const nightly = page.locator('.card[data-type="nightly-report"]')
    expect(await nightly.getAttribute("class")).toContain("s-DEAD")
    expect(await nightly.locator(".badge").first().textContent()).toBe("DEAD")
    expect(await nightly.locator(".schedule").textContent()).toBe("At 01:30 (UTC)")
    // No success within its expect.successWithin (2 hours; the seeded last one is a day old): a red
    // badge on its card and its page (until the backfill test below runs it); none without a deadline.
    await nightly.locator(".badge.overdue").waitFor({ timeout: 15_000 })
    expect(await nightly.locator(".badge.overdue").getAttribute("title")).toContain("no success within 2h")
    expect(await page.locator('.card[data-type="import-products"] .badge.overdue').count()).toBe(0)
    await open("#/type/nightly-report")
    await page.locator("#type-header .badge.overdue").waitFor({ timeout: 15_000 })
    await open()
    const imports = page.locator('.card[data-type="import-products"] .schedule')
    expect(await imports.textContent()).toBe("At 02:00, Monday through Friday (Europe/Berlin)")
    expect(await page.locator('.card[data-type="xss-probe"] .badge').first().textContent()).toBe("NO RUNS")
    // The colour comes from the state: DEAD is not left uncoloured as in ha-jobs.
    const colour = await nightly.evaluate((el) => getComputedStyle(el).borderLeftColor)
    expect(colour).not.toBe(
      await page
        .locator('.card[data-type="xss-probe"]')
        .evaluate((el) => getComputedStyle(el).borderLeftColor),
    )
    await shot("overview")
  })

  it("triggers from the UI with a confirmation; the run and its end appear without a reload", async () => {
    await open()
    await page.evaluate(() => {
      ;(window as any).sameDocument = true
    })
    await page.locator('nav#tabs a[data-tab="nightly-report"]').click()
    await page.locator("#type-header .trigger").click()
    await expect.poll(() => page.locator(".confirm").textContent()).toContain("Trigger nightly-report now?")
    await page.locator(".confirm-yes").click()
    const success = page.locator('.alert[data-kind="success"]').first()
    await success.waitFor()
    expect(await success.textContent()).toContain("Started nightly-report")
    const jobId = /execution ([0-9a-f-]{36})/.exec((await success.textContent()) ?? "")![1]!
    const row = page.locator(`#history tr[data-job-id="${jobId}"]`)
    await row.waitFor()
    await expect.poll(() => row.getAttribute("data-state")).toBe("FINISHED")
    expect(await page.evaluate(() => (window as any).sameDocument)).toBe(true)
    await shot("triggered")
  })

  it("a job with params: Trigger opens a JSON editor; bad JSON stays in it, a bad value gets the server's 400", async () => {
    await open("#/type/sales-report")
    await page.locator("#type-header .trigger").click()
    const editor = page.locator("#type-header .params-editor")
    await editor.waitFor()
    // Prefilled from the params' JSON Schema: every required field, with a value of its type.
    expect(JSON.parse(await editor.inputValue())).toEqual({ region: "emea", day: "" })
    expect(await page.locator("#type-header .params-fields").textContent()).toContain("region: emea | apac")
    await editor.fill("{region: emea")
    await page.locator("#type-header .confirm-yes").click()
    await expect
      .poll(() => page.locator("#type-header .params-problem").textContent(), { timeout: 10_000 })
      .toContain("Not JSON")
    await editor.fill(JSON.stringify({ region: "mars", day: "2026-11-01" }))
    await page.locator("#type-header .confirm-yes").click()
    await expect
      .poll(() => page.locator('.alert[data-kind="error"]').first().textContent(), { timeout: 10_000 })
      .toContain("region")
    await page.locator("#type-header .trigger").click()
    await editor.fill(JSON.stringify({ region: "apac", day: "2026-11-01" }))
    await shot("params-editor")
    await page.locator("#type-header .confirm-yes").click()
    const success = page.locator('.alert[data-kind="success"]').first()
    await expect.poll(() => success.textContent(), { timeout: 10_000 }).toContain("Started sales-report")
    await success.locator("a").click()
    await expect
      .poll(() => page.locator("#details .f-params").textContent(), { timeout: 10_000 })
      .toBe('{"region":"apac","day":"2026-11-01"}')
    // The audit tab shows the trigger with its params and who did it.
    await page.locator('nav#tabs a[data-tab="Audit"]').click()
    const row = page.locator('#audit tr[data-action="trigger"]').first()
    await row.waitFor()
    expect(await row.locator(".detail").textContent()).toContain('"region":"apac"')
    expect(await row.locator(".identity").textContent()).toBe("anonymous")
  })

  it("backfills from the UI: the range, a preview of each slot, then the run; the audit view lists it", async () => {
    await open("#/type/nightly-report")
    await page.locator("#type-header .backfill").click()
    await page.locator("#type-header .backfill-from").fill("2026-01-01T00:00:00Z")
    await page.locator("#type-header .backfill-to").fill("2026-01-03T23:59:59Z")
    await page.locator("#type-header .backfill-preview").click()
    const slots = page.locator("#type-header .backfill-slots li")
    await expect.poll(() => slots.count(), { timeout: 10_000 }).toBe(3)
    expect(await slots.first().textContent()).toBe("2026-01-01T01:30:00.000Z runs")
    expect(await page.locator("#type-header .backfill-summary").textContent()).toContain("3 to run")
    // A preview claims nothing: the API's own dry run still sees every slot free.
    const dry = await api("POST", "/jobs/nightly-report/backfill", {
      body: JSON.stringify({ from: "2026-01-01T00:00:00Z", to: "2026-01-03T23:59:59Z", dryRun: true }),
      headers: { "content-type": "application/json" },
    })
    expect(dry.body.toRun).toBe(3)
    await shot("backfill-preview")
    await page.locator("#type-header .backfill-run").click()
    await expect
      .poll(() => page.locator('.alert[data-kind="success"]').first().textContent(), { timeout: 10_000 })
      .toContain("Backfill of nightly-report started: 3 slots")
    await expect
      .poll(
        async () =>
          (await api("GET", "/jobs/nightly-report?limit=50")).body.jobs.filter(
            (j: any) => j.triggerSource === "backfill" && j.jobState === "FINISHED",
          ).length,
        { timeout: 10_000 },
      )
      .toBe(3)
    await page.locator('nav#tabs a[data-tab="Audit"]').click()
    const rows = page.locator('#audit tr[data-action="backfill"]')
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3)
    expect(await rows.first().locator(".identity").textContent()).toBe("anonymous")
    await expect
      .poll(() => page.locator('#audit tr[data-action="backfill"] .outcome').allTextContents(), {
        timeout: 10_000,
      })
      .toContain("finished: ran 3, skipped 0")
    // A run ending elsewhere sends a status frame: the audit log stays (it was replaced by the
    // overview, whose view is also "no job type").
    const probe = await api("POST", "/jobs/sales-report", {
      body: JSON.stringify({ params: { region: "emea", day: "2026-01-01" } }),
      headers: { "content-type": "application/json" },
    })
    expect(probe.status).toBe(201)
    await expect
      .poll(async () => (await api("GET", `/jobs/sales-report/${probe.body.jobId}`)).body.jobResult, {
        timeout: 10_000,
      })
      .not.toBe("PENDING")
    await page.waitForTimeout(2_000) // the frame's interval and the fold
    expect(await page.locator("#audit").count()).toBe(1)
    expect(await page.locator("#cards").count()).toBe(0)
  })

  it("shows 409 feedback naming the holder, another job type sharing the lock", async () => {
    const holder = await api("POST", "/jobs/import-products")
    expect(holder.status).toBe(201)
    await open("#/type/export-products")
    await page.locator("#type-header .trigger").click()
    await page.locator(".confirm-yes").click()
    const warning = page.locator('.alert[data-kind="warning"]').first()
    await warning.waitFor()
    expect(await warning.textContent()).toContain(
      `export-products is already running: its lock is held by import-products execution ${holder.body.jobId}`,
    )
    expect(await warning.locator("a").getAttribute("href")).toBe(
      `#/type/import-products/${holder.body.jobId}`,
    )
    await shot("409")
    await warning.locator("a").click()
    await page.locator("#details").waitFor()
    await expect
      .poll(() => page.locator("#details .f-jobState").textContent(), { timeout: 5_000 })
      .toBe("FINISHED")
  })

  it("gives feedback for a cancel (200) and for errors (503 while the store is down)", async () => {
    await open("#/type/nightly-report")
    await page.locator("#type-header .cancel").click()
    await page.locator(".confirm-yes").click()
    await expect
      .poll(() => page.locator('.alert[data-kind="success"]').first().textContent())
      .toContain("Cancel requested for nightly-report")

    Effect.runSync(Ref.set(storeDown, true))
    try {
      await expect.poll(() => page.locator("#live").textContent()).toBe("store unavailable")
      await page.locator("#type-header .trigger").click()
      await page.locator(".confirm-yes").click()
      await expect
        .poll(() => page.locator('.alert[data-kind="error"]').first().textContent())
        .toContain("Trigger nightly-report: the store is unavailable")
      await shot("store-down")
    } finally {
      Effect.runSync(Ref.set(storeDown, false))
    }
    await expect.poll(() => page.locator("#live").textContent()).toBe("live")
  })

  it("pauses with a note (shown on the job and its overview card, kept in the store), then resumes", async () => {
    await open("#/type/nightly-report")
    await page.locator("#type-header .pause").click()
    await page.locator("#type-header .pause-note").fill("INC-42: <b>feed</b> broken")
    await page.locator("#type-header .confirm-yes").click()
    await expect
      .poll(() => page.locator('.alert[data-kind="success"]').first().textContent())
      .toContain("Paused nightly-report on every instance")
    const banner = page.locator("#type-header .paused-note")
    await expect.poll(() => banner.textContent(), { timeout: 5_000 }).toContain("INC-42: <b>feed</b> broken")
    expect(await banner.textContent()).toContain("by anonymous")
    expect((await api("GET", "/jobs/nightly-report?limit=1")).body.paused.note).toBe(
      "INC-42: <b>feed</b> broken",
    )
    await shot("paused")
    await open()
    const card = page.locator('.card[data-type="nightly-report"]')
    expect(await card.getAttribute("class")).toContain("paused")
    expect(await card.locator(".paused-note").textContent()).toContain("INC-42")

    await open("#/type/nightly-report")
    await page.locator("#type-header .resume").click()
    await page.locator("#type-header .confirm-yes").click()
    await expect
      .poll(() => page.locator('.alert[data-kind="success"]').first().textContent())
      .toContain("Resumed nightly-report")
    await page.locator("#type-header .pause").waitFor()
    expect(await page.locator("#type-header .paused-note").count()).toBe(0)
    expect((await api("GET", "/jobs/nightly-report?limit=1")).body.paused).toBeNull()

    // The audit tab lists both, newest first, with who and what; a pause made elsewhere (the API)
    // shows up there and on its card without a reload (an audit frame on /events).
    await page.locator('nav#tabs a[data-tab="Audit"]').click()
    const rows = page.locator("#audit tbody tr")
    await rows.first().waitFor()
    expect(await rows.nth(0).getAttribute("data-action")).toBe("resume")
    expect(await rows.nth(1).getAttribute("data-action")).toBe("pause")
    expect(await rows.nth(1).locator(".identity").textContent()).toBe("anonymous")
    expect(await rows.nth(1).locator(".detail").textContent()).toContain("INC-42: <b>feed</b> broken")
    expect(await page.locator('#audit tr[data-action="trigger"]').count()).toBeGreaterThan(0)
    await api("POST", "/jobs/xss-probe/pause", {
      body: JSON.stringify({ note: "from the API" }),
      headers: { "content-type": "application/json" },
    })
    await expect
      .poll(() => rows.nth(0).locator(".detail").textContent(), { timeout: 5_000 })
      .toContain("from the API")
    await shot("audit")
    await page.locator('nav#tabs a[data-tab="Overview"]').click()
    await expect
      .poll(() => page.locator('.card[data-type="xss-probe"] .paused-note').count(), { timeout: 5_000 })
      .toBe(1)
    await api("POST", "/jobs/xss-probe/resume")
  })

  it("updates live: a run started elsewhere appears on the overview without a reload", async () => {
    await open()
    const card = page.locator('.card[data-type="xss-probe"]')
    expect(await card.locator(".badge").first().textContent()).toBe("NO RUNS")
    const started = await api("POST", "/jobs/xss-probe")
    expect(started.status).toBe(201)
    await expect.poll(() => card.locator(".badge").first().textContent(), { timeout: 5_000 }).toBe("WARNING")
  })

  it("updates live: OVERRUNNING appears while a run is past its maxDuration and goes when it ends", async () => {
    await open()
    const card = page.locator('.card[data-type="slow-sync"]')
    expect(await card.locator(".badge.overrunning").count()).toBe(0)
    expect((await api("POST", "/jobs/slow-sync")).status).toBe(201)
    // No status changes between its start and its end (8 s): only the expectation event redraws.
    await card.locator(".badge.overrunning").waitFor({ timeout: 7_000 })
    expect(await card.locator(".badge").first().textContent()).toBe("RUNNING")
    await card.locator(".badge.overrunning").waitFor({ state: "detached", timeout: 20_000 })
    expect(await card.locator(".badge").first().textContent()).toBe("FINISHED")
  }, 40_000)

  it("shows the instances, alive and gone, and which execution holds each lock with its lease's time left", async () => {
    // Announced with a 1 ms interval long ago (by this test's clock): gone by the time it is shown.
    await Effect.runPromise(
      stores.statusRepository.announce({
        instance: "node-old",
        startedAt: new Date(Date.now() - 3_600_000),
        everyMs: 1,
      }),
    )
    const started = await api("POST", "/jobs/slow-sync")
    expect(started.status).toBe(201)
    await open()
    const rows = page.locator("#instances tbody tr")
    await expect.poll(() => rows.count()).toBe(2)
    expect(await page.locator('#instances tr[data-instance="test"] .badge').textContent()).toBe("ALIVE")
    expect(await page.locator('#instances tr[data-instance="test"]').textContent()).toContain("(this one)")
    expect(await page.locator('#instances tr[data-instance="node-old"] .badge').textContent()).toBe("GONE")
    const lock = page.locator('#locks tr[data-lock-type="slow-sync"]')
    await lock.waitFor()
    expect(await lock.locator("td").nth(3).textContent()).toBe("test")
    expect(await lock.locator("td a.mono").getAttribute("href")).toContain(started.body.jobId)
    expect(await lock.locator(".lease-left").textContent()).toMatch(/^\d+(\.\d)? s$/)
    await shot("instances")
    expect((await api("DELETE", "/jobs/slow-sync")).status).toBe(200)
  })

  it("shows content and reasons holding markup as text, and runs no script", async () => {
    const [latest] = (await api("GET", "/jobs/xss-probe?limit=1")).body.jobs
    await open(`#/type/xss-probe/${latest.jobId}`)
    await page.locator("#details #content").waitFor()
    expect(await page.locator("#details .f-reason").textContent()).toBe(payload)
    expect(await page.locator("#history td.reason").first().textContent()).toBe(payload)
    const tree = await page.locator("#content").textContent()
    expect(tree).toContain(JSON.stringify(payload))
    await page.locator("nav#tabs a[data-tab='Overview']").click()
    await page.locator('.card[data-type="xss-probe"] .reason').waitFor()
    expect(await page.locator('.card[data-type="xss-probe"] .reason').textContent()).toBe(payload)
    expect(await page.locator("img").count()).toBe(0)
    await open(`#/type/xss-probe/${latest.jobId}`)
    await page.locator("#details #content").waitFor()
    expect(await page.locator("img").count()).toBe(0)
    await shot("xss")
  })

  it("shows a job type's events: why slots did not run, a coalesced run with its count and range, markup as text", async () => {
    const at = Date.now()
    const event = (kind: JobEvent["kind"], reason: string, count: number, from: number, to: number) =>
      Effect.runPromise(
        Effect.flatMap(makeEventId, (id) =>
          stores.statusRepository.recordEvent(
            new JobEvent({
              id,
              at: new Date(at),
              jobType: "nightly-report" as JobType,
              kind,
              instance: "node-b",
              reason,
              count,
              from: new Date(from),
              to: new Date(to),
            }),
          ),
        ),
      )
    await open("#/type/export-products")
    await page.locator("#events-empty").waitFor()
    await event(
      "slot-missed",
      "the store did not take the slot's claim in time: connection refused",
      12,
      at - 60_000,
      at - 49_000,
    )
    await event("overlap", payload, 1, at - 30_000, at - 30_000)
    await open("#/type/nightly-report")
    const rows = page.locator("#events tbody tr")
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(2)
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-kind")))).toEqual([
      "overlap",
      "slot-missed",
    ])
    const missed = rows.nth(1)
    expect(await missed.locator(".count").textContent()).toBe("12")
    expect(await missed.locator("time").count()).toBe(2) // a run: its first and last slot
    expect(await missed.locator(".reason").textContent()).toContain("connection refused")
    expect(await rows.nth(0).locator(".reason").textContent()).toBe(payload)
    expect(await page.locator("img").count()).toBe(0)
    await shot("events")
    // Recorded while the page is open: the list grows without a reload.
    await event("misfire", "found 3 minutes late: the process was paused", 1, Date.now(), Date.now())
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(3)
    expect(await rows.first().getAttribute("data-kind")).toBe("misfire")
  })

  it("draws trends: a bar per ended run as long as its duration, and each day's successes and failures", async () => {
    const { jobs: runs } = (await api("GET", "/jobs/import-products?limit=200")).body
    const ended = runs.filter((j: any) => j.jobResult !== "PENDING")
    const ms = (j: any) => Date.parse(j.jobStatusTs) - Date.parse(j.startTime)
    await open("#/type/import-products")
    const bars = page.locator("#durations rect.bar")
    await expect.poll(() => bars.count()).toBe(ended.length)
    const heights = await bars.evaluateAll((rs) =>
      rs.map((r) => [Number(r.getAttribute("data-ms")), Number(r.getAttribute("height"))]),
    )
    // Oldest left: the bars are the ended runs in start order, each with its own duration.
    expect(heights.map(([d]) => d)).toEqual([...ended].reverse().map(ms))
    // Taller is longer: the longest run has the tallest bar, a 0-second one a sliver.
    const longest = Math.max(...heights.map(([d]) => d!))
    const tallest = Math.max(...heights.map(([, y]) => y!))
    expect(heights.find(([d]) => d === longest)![1]).toBe(tallest)
    expect(Math.min(...heights.map(([, y]) => y!))).toBeLessThan(tallest / 10)

    const perDay = new Map<string, { ok: number; failed: number }>()
    for (const j of ended) {
      const day = j.jobStatusTs.slice(0, 10)
      const c = perDay.get(day) ?? { ok: 0, failed: 0 }
      if (j.jobResult === "SUCCESS") c.ok++
      else c.failed++
      perDay.set(day, c)
    }
    const cells = await page
      .locator("#days rect.day")
      .evaluateAll((rs) =>
        rs.map((r) => [
          r.getAttribute("data-date")!,
          Number(r.getAttribute("data-ok")),
          Number(r.getAttribute("data-failed")),
          r.getAttribute("class")!,
        ]),
      )
    expect(cells).toHaveLength(14)
    expect(cells.at(-1)![0]).toBe(new Date().toISOString().slice(0, 10))
    for (const [date, ok, failed, cls] of cells) {
      const want = perDay.get(date as string) ?? { ok: 0, failed: 0 }
      expect([ok, failed], date as string).toEqual([want.ok, want.failed])
      const kind =
        want.ok + want.failed === 0 ? "none" : want.failed === 0 ? "ok" : want.ok === 0 ? "bad" : "mixed"
      expect(cls).toContain(`day-${kind}`)
    }
    expect(cells.some(([, , failed]) => (failed as number) > 0)).toBe(true)
    await shot("trends")
  })

  it("pages through the history with the cursor, draws the timeline and folds the JSON tree", async () => {
    await open("#/type/export-products")
    const rows = page.locator("#history tbody tr")
    await expect.poll(() => rows.count()).toBe(20)
    expect(await page.locator("#timeline rect.bar").count()).toBe(20)
    const firstOfPage1 = await rows.first().getAttribute("data-job-id")
    await page.locator(".pager .older").click()
    await expect.poll(() => page.locator(".pager .muted").textContent()).toBe("page 2")
    await expect.poll(() => rows.count()).toBeGreaterThan(0)
    const page2 = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-job-id")))
    expect(page2).not.toContain(firstOfPage1)
    expect(await page.locator(".pager .older").isDisabled()).toBe(true)
    await page.locator(".pager .newer").click()
    await expect.poll(() => rows.first().getAttribute("data-job-id")).toBe(firstOfPage1)

    const [finished] = (await api("GET", "/jobs/import-products?limit=20")).body.jobs.filter(
      (j: any) => j.jobState === "FINISHED",
    )
    await open(`#/type/import-products/${finished.jobId}`)
    const tree = page.locator("#content")
    await tree.waitFor()
    const top = tree.locator("details").first()
    expect(await top.getAttribute("open")).not.toBeNull()
    await top.locator("summary").first().click()
    expect(await top.getAttribute("open")).toBeNull()
    await top.locator("summary").first().click()
    expect(await top.getAttribute("open")).not.toBeNull()

    // The oldest run wrote 132 statuses: a page of 100, the rest on demand, each once.
    const [oldest] = (await api("GET", "/jobs/import-products?limit=20")).body.jobs.slice(-1)
    await open(`#/type/import-products/${oldest.jobId}`)
    const statuses = page.locator("#statuses tbody tr")
    await expect.poll(() => statuses.count()).toBe(100)
    await page.locator("#statuses-older").click()
    await expect.poll(() => statuses.count()).toBe(132)
    expect(await page.locator("#statuses-older").isHidden()).toBe(true)
    const times = await statuses.evaluateAll((trs) =>
      trs.map((tr) => tr.querySelector("time")?.getAttribute("datetime")),
    )
    expect(new Set(times).size).toBe(132)
  })

  it("never leaves its base path: every request went to /ops/ha-jobs/...", async () => {
    expect(requests.length).toBeGreaterThan(10)
    expect(requests.filter((p) => !p.startsWith(`${basePath}/`))).toEqual([])
  })

  it("takes the README screenshot (docs/dashboard.png) when asked", async () => {
    if (process.env.SCREENSHOT_README !== "1") return
    const running = await api("POST", "/jobs/import-products")
    const [finished] = (await api("GET", "/jobs/import-products?limit=20")).body.jobs.filter(
      (j: any) => j.jobState === "FINISHED" && j.jobId !== running.body.jobId,
    )
    await page.setViewportSize({ width: 1280, height: 800 })
    await open(`#/type/import-products/${finished.jobId}`)
    await page.locator("#details #content").waitFor()
    mkdirSync("docs", { recursive: true })
    await page.screenshot({ path: "docs/dashboard.png", fullPage: true })
    // The overview with its cards and the instances, one of them holding a lock.
    await open()
    await page.locator("#locks").waitFor()
    await page.screenshot({ path: "docs/dashboard-overview.png", fullPage: true })
  })
})

describe.skipIf(skip)("the dashboard with a token and read-only mode", () => {
  it("asks for the token, keeps it, and disables writes", async () => {
    const secured = await startServer({
      stores: Effect.runSync(memoryStores),
      jobs,
      http: { token: "s3cret", readOnly: true },
    })
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      const errors: Array<string> = []
      page.on("pageerror", (e) => errors.push(e.message))
      await page.goto(`${secured.baseUrl}/jobsOverview`)
      await page.locator("#token-panel:not([hidden])").waitFor()
      await page.fill("#token-input", "s3cret")
      await page.locator("#token-form button[type=submit]").click()
      await expect.poll(() => page.locator(".card").count()).toBe(jobs.length)
      expect(await page.locator("#read-only").isHidden()).toBe(false)
      await expect.poll(() => page.locator("#live").textContent()).toBe("live")
      await page.locator('nav#tabs a[data-tab="nightly-report"]').click()
      expect(await page.locator("#type-header .trigger").isDisabled()).toBe(true)
      expect(await page.locator("#type-header .cancel").isDisabled()).toBe(true)
      expect(await page.locator("#type-header .pause").isDisabled()).toBe(true)
      // The token survives a reload (localStorage), so no prompt this time.
      await page.reload()
      await expect.poll(() => page.locator("#type-header, .card").count()).toBeGreaterThan(0)
      expect(await page.locator("#token-panel").isHidden()).toBe(true)
      await page.screenshot({ path: `${artifacts}/dashboard-read-only.png`, fullPage: true })
      expect(errors).toEqual([])
    } finally {
      await context.close()
      await secured.close()
    }
  })
})

describe.skipIf(skip)("the dashboard with 130 job types", () => {
  it("pages the overview 48 at a time, searches by name, and reads summaries of the shown types only", async () => {
    const many = Array.from({ length: 130 }, (_, i) => Job.make({ type: `job-${i}`, run: Effect.void }))
    const server = await startServer({ stores: Effect.runSync(memoryStores), jobs: many })
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      page.setDefaultTimeout(10_000)
      const errors: Array<string> = []
      page.on("pageerror", (e) => errors.push(e.message))
      const summaries: Array<string> = []
      page.on("request", (r) => {
        const path = new URL(r.url()).pathname
        if (/^\/jobs\/job-\d+$/.test(path)) summaries.push(path)
      })
      const cardTypes = () =>
        page.locator(".card").evaluateAll((cards) => cards.map((c) => c.getAttribute("data-type")))
      const pagerText = () => page.locator("#overview-pager span").first().textContent()

      await page.goto(`${server.baseUrl}/jobsOverview`)
      await expect.poll(() => page.locator(".card").count()).toBe(48)
      expect((await cardTypes())[0]).toBe("job-0")
      expect(await pagerText()).toBe("1–48 of 130 job types")
      // Summaries of the page's types only, and no tab per job type (130 would not fit); the live
      // stream's first frames (every type's latest status, unchanged) read none again.
      await page.locator("#live.live").waitFor()
      await page.waitForTimeout(1_000)
      expect(summaries.length).toBe(48)
      expect(
        await page.locator("nav#tabs a").evaluateAll((a) => a.map((x) => x.getAttribute("data-tab"))),
      ).toEqual(["Overview", "Audit"])
      expect(await page.locator('[data-page="previous"]').isDisabled()).toBe(true)
      // No group picker: no name has a group (`group.…`).
      expect(await page.locator("#overview-group").count()).toBe(0)

      await page.locator('[data-page="next"]').click()
      await expect.poll(async () => (await cardTypes())[0]).toBe("job-48")
      expect(await pagerText()).toBe("49–96 of 130 job types")
      await page.locator('[data-page="previous"]').click()
      await expect.poll(async () => (await cardTypes())[0]).toBe("job-0")

      // job-12 and job-120 ... job-129; the box keeps its focus while the cards change.
      await page.locator("#overview-search").fill("JOB-12")
      await expect.poll(() => page.locator(".card").count()).toBe(11)
      expect(await pagerText()).toBe("1–11 of 11 job types")
      expect(await page.locator('[data-page="next"]').isDisabled()).toBe(true)
      expect(await page.evaluate(() => document.activeElement?.id)).toBe("overview-search")
      await page.locator("#overview-search").fill("no-such-job")
      await expect
        .poll(() => page.locator("#overview-empty").textContent())
        .toBe('No job type contains "no-such-job".')

      // A job type on no loaded page opens from its link, with a tab of its own while shown.
      await page.goto(`${server.baseUrl}/jobsOverview#/type/job-117`)
      await page.locator("#type-header").waitFor()
      expect(await page.locator("#type-header").textContent()).toContain("job-117")
      expect(await page.locator('nav#tabs a[data-tab="job-117"]').count()).toBe(1)
      expect(errors).toEqual([])
    } finally {
      await context.close()
      await server.close()
    }
  })
})

describe.skipIf(skip)("the dashboard with grouped job types", () => {
  it("offers the groups of the job types (names `group.…`) and pages within the one picked", async () => {
    const types = [
      ...Array.from({ length: 60 }, (_, i) => `billing.invoice-${i}`),
      ...Array.from({ length: 10 }, (_, i) => `crm.sync-${i}`),
      "adhoc",
    ]
    const server = await startServer({
      stores: Effect.runSync(memoryStores),
      jobs: types.map((type) => Job.make({ type, run: Effect.void })),
    })
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      page.setDefaultTimeout(10_000)
      const errors: Array<string> = []
      page.on("pageerror", (e) => errors.push(e.message))
      const cardTypes = () =>
        page.locator(".card").evaluateAll((cards) => cards.map((c) => c.getAttribute("data-type")))
      const pagerText = () => page.locator("#overview-pager span").first().textContent()

      await page.goto(`${server.baseUrl}/jobsOverview`)
      await expect.poll(() => page.locator(".card").count()).toBe(48)
      expect(
        await page.locator("#overview-group option").evaluateAll((o) => o.map((x) => x.textContent)),
      ).toEqual(["All groups", "billing (60)", "crm (10)"])
      await page.locator("#overview-group").selectOption("crm")
      await expect.poll(async () => (await cardTypes()).length).toBe(10)
      expect((await cardTypes()).every((t) => t?.startsWith("crm."))).toBe(true)
      expect(await pagerText()).toBe("1–10 of 10 job types")
      // A search within the group; then all groups again.
      await page.locator("#overview-search").fill("sync-7")
      await expect.poll(() => cardTypes()).toEqual(["crm.sync-7"])
      await page.locator("#overview-search").fill("")
      await page.locator("#overview-group").selectOption("")
      await expect.poll(async () => (await cardTypes())[0]).toBe("billing.invoice-0")
      expect(await pagerText()).toBe("1–48 of 71 job types")
      expect(errors).toEqual([])
    } finally {
      await context.close()
      await server.close()
    }
  })
})

describe.skipIf(skip)("the dashboard in the ha-jobs mode", () => {
  it("shows every registered type (not only those that ran) and opens an execution by its v1 id", async () => {
    const jobs = [
      Job.make({ type: "ran", run: Effect.void }),
      Job.make({ type: "not-yet", run: Effect.void }),
    ]
    const server = await startServer({
      stores: Effect.runSync(memoryStores),
      jobs,
      http: { compat: "ha-jobs" },
    })
    const context = await browser.newContext()
    try {
      const started = await (await fetch(`${server.baseUrl}/jobs/ran`, { method: "POST" })).json()
      expect(started.jobId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-1/) // the ha-jobs mode's wire form
      const page = await context.newPage()
      page.setDefaultTimeout(10_000)
      const errors: Array<string> = []
      page.on("pageerror", (e) => errors.push(e.message))
      await page.goto(`${server.baseUrl}/jobsOverview`)
      await expect
        .poll(() =>
          page.locator(".card").evaluateAll((cards) => cards.map((c) => c.getAttribute("data-type"))),
        )
        .toEqual(["ran", "not-yet"])
      await page.goto(`${server.baseUrl}/jobsOverview#/type/ran/${started.jobId}`)
      await page.locator("#details").waitFor()
      await expect
        .poll(() => page.locator("#details .f-jobState").textContent(), { timeout: 5_000 })
        .toBe("FINISHED")
      expect(await page.locator("#details .f-jobId").textContent()).toBe(started.jobId)
      expect(errors).toEqual([])
    } finally {
      await context.close()
      await server.close()
    }
  })
})
