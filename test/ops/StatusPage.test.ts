import { randomUUID } from "node:crypto"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { BUCKETS, RateBudgetRedis } from "@cliq-mirror/core"
import { schema } from "@cliq-mirror/db"
import { HttpServer } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { chromium } from "playwright-core"
import { apiTestLayer, exec, request, TOKEN } from "../api/harness.js"
import { clearRedisPrefix, testRedisUrl, uniqueRedisPrefix } from "../support/redis.js"

const prefix = uniqueRedisPrefix("status")
const ARTIFACTS = join(process.cwd(), ".ci", "out")
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

const basic = (password: string) => `Basic ${Buffer.from(`ops:${password}`).toString("base64")}`

const command = (accountId: string, status: string, fields: Partial<typeof schema.commands.$inferInsert> = {}) => ({
  id: randomUUID(),
  accountId,
  type: "mute_chat",
  payload: {},
  requestHash: randomUUID(),
  status,
  ...fields
})

const seed = Effect.gen(function* () {
  const now = Date.now()
  const budget = yield* RateBudgetRedis.make({
    redis: testRedisUrl(),
    prefix: `${prefix}budget:`,
    buckets: BUCKETS,
    freshRedis: true
  })
  for (let i = 0; i < 4; i++) yield* budget.tryAcquire({ key: "user:acme", bucket: "chats.list" })
  yield* budget.tryAcquire({ key: "client:acme", bucket: "chats.update" })
  const lock = yield* budget.lock({ key: "user:acme", bucket: "chats.list" })
  yield* exec(async db => {
    await db.insert(schema.accounts).values([{ id: "acme" }, { id: "globex" }])
    await db.insert(schema.syncState).values([
      {
        accountId: "acme",
        stream: "incremental",
        status: "backfilling",
        lastRunAt: new Date(now - 1_000)
      },
      {
        accountId: "globex",
        stream: "incremental",
        status: "backing_off",
        lastSuccessAt: new Date(now - 600_000),
        lastError: { code: "unauthorized", message: "token refused", at: new Date(now).toISOString() },
        consecutiveFailures: 3
      }
    ])
    await db.insert(schema.accountCredentials).values({
      accountId: "globex",
      state: "needs_reauthorisation",
      reason: "invalid_grant",
      since: new Date(now - 60_000)
    })
    await db.insert(schema.backfillProgress).values({
      accountId: "acme",
      stream: "incremental",
      covered: 0.42,
      items: 4200,
      estimatedTotal: 10_000,
      etaMs: 125_000
    })
    await db.insert(schema.commands).values([
      command("acme", "queued"),
      command("acme", "queued"),
      command("acme", "queued"),
      command("acme", "waiting_rate_limit"),
      command("acme", "succeeded", { completedAt: new Date(now - 5_000) }),
      command("globex", "failed", {
        completedAt: new Date(now - 2_000),
        lastError: { code: "chat_not_found", message: "no chat <c-404>" }
      })
    ])
  })
  return lock
})

layer(apiTestLayer({ redisPrefix: prefix }), { timeout: "2 minutes", excludeTestServices: true })("GET /status", it => {
  it.effect("asks for HTTP Basic auth whose password is an API token", () =>
    Effect.gen(function* () {
      const anonymous = yield* request("/status", { token: null })
      assert.strictEqual(anonymous.status, 401)
      const bearer = yield* request("/status")
      assert.strictEqual(bearer.status, 401, "the page takes Basic auth, a browser cannot send a bearer token")
      const server = yield* HttpServer.HttpServer
      assert.strictEqual(server.address._tag, "TcpAddress")
      const base = server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : ""
      const wrong = yield* Effect.promise(() => fetch(`${base}/status`, { headers: { authorization: basic("nope") } }))
      assert.strictEqual(wrong.status, 401)
      assert.match(wrong.headers.get("www-authenticate") ?? "", /^Basic realm=/)
    })
  )

  it.scoped("renders the seeded state in headless Chromium, on a phone's width", () =>
    Effect.gen(function* () {
      yield* Effect.addFinalizer(() => Effect.promise(() => clearRedisPrefix(prefix)))
      const lock = yield* seed
      const server = yield* HttpServer.HttpServer
      const port = server.address._tag === "TcpAddress" ? server.address.port : 0
      const profile = mkdtempSync(join(tmpdir(), "status-chromium-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(profile, { recursive: true, force: true })))
      // A fresh, empty profile per run (--user-data-dir), as the persistent context takes it.
      const context = yield* Effect.acquireRelease(
        Effect.promise(() =>
          chromium.launchPersistentContext(profile, {
            executablePath: "/usr/bin/chromium",
            args: CHROMIUM_FLAGS,
            viewport: { width: 390, height: 844 },
            httpCredentials: { username: "ops", password: TOKEN }
          })
        ),
        c => Effect.promise(() => c.close())
      )
      const page = yield* Effect.promise(async () => {
        const p = await context.newPage()
        const response = await p.goto(`http://127.0.0.1:${port}/status`)
        assert.strictEqual(response?.status(), 200)
        return p
      })
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered text, as a reader sees it, is what is asserted
      const text = (selector: string) => Effect.promise(() => page.locator(selector).innerText())

      assert.strictEqual(yield* Effect.promise(() => page.title()), "cliq-mirror status")
      const refresh = yield* Effect.promise(() => page.locator('meta[http-equiv="refresh"]').getAttribute("content"))
      assert.strictEqual(refresh, "10")

      const acme = yield* text('[data-account="acme"]')
      assert.include(acme, "credentials ok")
      assert.include(acme, "42 %")
      assert.include(acme, "4200 of ~10000 chats, ETA 2 min 5 s")
      assert.include(acme, "backfilling")
      const globex = yield* text('[data-account="globex"]')
      assert.include(globex, "credentials needs_reauthorisation: invalid_grant")
      assert.include(globex, "unauthorized: token refused (×3)")
      assert.match(globex, /backing_off\s+10 min [0-9]+ s/)

      assert.strictEqual(
        yield* text('[data-bucket="acme/chats.list"] [data-test="used"]'),
        `4/${BUCKETS["chats.list"].threshold}`
      )
      assert.strictEqual(
        yield* text('[data-bucket="acme/chats.update"] [data-test="used"]'),
        `1/${BUCKETS["chats.update"].threshold}`
      )
      const lockCell = yield* text('[data-bucket="acme/chats.list"] td:last-child')
      assert.strictEqual(lockCell, `locked until ${new Date(lock.lockedUntil).toISOString()}`)
      assert.strictEqual(yield* text('[data-bucket="globex/chats.list"] td:last-child'), "—")

      assert.strictEqual(yield* text('#queue [data-status="queued"] td:last-child'), "3")
      assert.strictEqual(yield* text('#queue [data-status="waiting_rate_limit"] td:last-child'), "1")
      assert.strictEqual(yield* text('#queue [data-status="running"] td:last-child'), "0")
      const failed = yield* text("#failed tbody")
      assert.include(failed, "chat_not_found: no chat <c-404>")
      assert.include(failed, "globex")

      const overflow = yield* Effect.promise(() =>
        page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth")
      )
      assert.isAtMost(overflow, 0, "no sideways scrolling on a phone")
      const external = yield* Effect.promise(() =>
        page.evaluate<Array<string>>(
          '[...document.querySelectorAll("script, link, img, iframe")].map(e => e.outerHTML)'
        )
      )
      assert.deepStrictEqual(external, [], "no external assets")

      const ready = yield* request("/readyz", { token: null })
      assert.strictEqual(ready.status, 503, "the daemon recorded refused credentials and a failing stream")
      assert.include(ready.text, "globex credentials refused (invalid_grant)")
      assert.include(ready.text, "globex/incremental failing (unauthorized)")

      mkdirSync(ARTIFACTS, { recursive: true })
      yield* Effect.promise(() => page.screenshot({ path: join(ARTIFACTS, "status-page.png"), fullPage: true }))
    })
  )
})
