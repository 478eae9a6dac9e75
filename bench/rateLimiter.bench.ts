// npx tsx bench/rateLimiter.bench.ts — decision cost of the rate budget against Redis (REDIS_URL, default local)
// and achieved utilisation per bucket with three concurrent callers over several time-scaled windows.
import { randomBytes } from "node:crypto"
import { performance } from "node:perf_hooks"
import { BUCKET_IDS, BUCKETS, type BucketId } from "@cliq-mirror/core/Cliq/Buckets"
import { acquireScript } from "@cliq-mirror/core/RateLimit/BudgetScripts"
import type { ShareTable } from "@cliq-mirror/core/RateLimit/BudgetSettings"
import {
  type BudgetRequest,
  RateBudget,
  type RateBudgetError,
  type RateBudgetShape
} from "@cliq-mirror/core/RateLimit/RateBudget"
import * as RateBudgetMemory from "@cliq-mirror/core/RateLimit/RateBudgetMemory"
import * as RateBudgetRedis from "@cliq-mirror/core/RateLimit/RateBudgetRedis"
import { meanWindowUtilisation, windowViolations } from "@cliq-mirror/core/RateLimit/WindowAudit"
import { Config, Console, Context, Effect, Layer, Redacted } from "effect"
import { Redis } from "ioredis"

const DECISIONS = 20_000
const WINDOWS = 6
const TIME_SCALE = 1 / 60
const SHARES: ShareTable = { "chats.list": { incremental: { reserve: 0.3 }, reconciliation: { max: 0.7 } } }

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
const stats = (samples: Array<number>) => {
  const sorted = samples.sort((a, b) => a - b).map(ms => ms * 1000)
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), mean }
}
const f = (x: number, digits = 1) => x.toFixed(digits)

const timeEach = <E>(n: number, step: (i: number) => Effect.Effect<unknown, E>) =>
  Effect.gen(function* () {
    for (let i = 0; i < Math.min(1000, n); i++) yield* step(i)
    const samples: Array<number> = []
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      yield* step(i)
      samples.push(performance.now() - t0)
    }
    return stats(samples)
  })

const key = (run: string, i: number) => `user:bench-${run}-${i}`

const decisionCost = (budget: RateBudgetShape, label: string, request: (i: number) => BudgetRequest) =>
  timeEach(DECISIONS, i => budget.tryAcquire(request(i))).pipe(Effect.map(s => ({ label, ...s })))

const costs = (redis: Redis, prefix: string, budget: RateBudgetShape, memory: RateBudgetShape) =>
  Effect.gen(function* () {
    const run = randomBytes(4).toString("hex")
    const ping = yield* timeEach(DECISIONS, () => Effect.promise(() => redis.ping()))
    const perKey = (bucket: BucketId) => Math.floor(budget.buckets[bucket].threshold / 2)
    const rows = [{ label: "Redis PING round trip (baseline)", ...ping }]
    // The same script through ioredis alone, to separate Redis work from the Effect service around it.
    const raw = redis.duplicate()
    raw.defineCommand("rawAcquire", { lua: acquireScript, numberOfKeys: 2 })
    const rawAcquire = (raw as unknown as Record<"rawAcquire", (...args: Array<string | number>) => Promise<unknown>>)
      .rawAcquire
    const window = (BUCKETS["chats.get"].windowMs + 2000) * 1000
    const threshold = BUCKETS["chats.get"].threshold
    const rawKey = (i: number) => `${prefix}{${key(`${run}r`, Math.floor(i / perKey("chats.get")))}|chats.get}`
    const script = yield* timeEach(DECISIONS, i =>
      Effect.promise(() =>
        rawAcquire.call(raw, `${rawKey(i)}:log`, `${rawKey(i)}:lock`, window, threshold, 1, `|raw${i}`, "", -1)
      )
    )
    yield* Effect.promise(() => raw.quit())
    rows.push({ label: "acquire script via ioredis evalsha, granted (no Effect)", ...script })
    rows.push(
      yield* decisionCost(budget, "tryAcquire, granted (chats.get)", i => ({
        key: key(`${run}g`, Math.floor(i / perKey("chats.get"))),
        bucket: "chats.get"
      }))
    )
    yield* budget.tryAcquire({
      key: key(`${run}d`, 0),
      bucket: "chats.get",
      cost: budget.buckets["chats.get"].threshold
    })
    rows.push(
      yield* decisionCost(budget, "tryAcquire, denied window_full (chats.get)", () => ({
        key: key(`${run}d`, 0),
        bucket: "chats.get"
      }))
    )
    rows.push(
      yield* decisionCost(budget, "tryAcquire, granted with shares (chats.list, log half full)", i => ({
        key: key(`${run}s`, Math.floor(i / perKey("chats.list"))),
        bucket: "chats.list",
        share: "incremental"
      }))
    )
    const full = { key: key(`${run}f`, 0), bucket: "chats.list" as const }
    yield* Effect.forEach(Array.from({ length: budget.buckets["chats.list"].threshold }), () =>
      budget.tryAcquire({ ...full, share: "incremental" })
    )
    rows.push(
      yield* decisionCost(budget, "tryAcquire, denied with shares (full log walked)", () => ({
        ...full,
        share: "reconciliation"
      }))
    )
    rows.push(
      yield* decisionCost(memory, "RateBudgetMemory tryAcquire (Effect overhead, no I/O)", i => ({
        key: key(`${run}m`, Math.floor(i / perKey("chats.get"))),
        bucket: "chats.get"
      }))
    )
    return rows
  })

const utilisation = (callers: ReadonlyArray<RateBudgetShape>) =>
  Effect.gen(function* () {
    const run = randomBytes(4).toString("hex")
    const buckets = callers[0]!.buckets
    const marginMs = callers[0]!.marginMs
    const clock = { key: `clock-${run}`, bucket: "chats.get" as const }
    const startAt = (yield* callers[0]!.usage(clock)).now + 100
    const endAt = startAt + WINDOWS * buckets["chats.get"].windowMs
    yield* Effect.sleep(startAt - (yield* callers[0]!.usage(clock)).now)
    const grants = new Map<BucketId, Array<number>>(BUCKET_IDS.map(b => [b, []]))
    const hammer = (budget: RateBudgetShape, bucket: BucketId) =>
      Effect.gen(function* () {
        let known = startAt
        while (true) {
          const d = yield* budget.acquireWithin({ key: `user:util-${run}`, bucket }, Math.max(0, endAt - known))
          if (d._tag === "Denied") return
          if (d.at >= endAt) return yield* budget.refund(d)
          known = d.at
          grants.get(bucket)!.push(d.at)
        }
      })
    yield* Effect.all(
      callers.flatMap(budget => BUCKET_IDS.map(bucket => hammer(budget, bucket))),
      { concurrency: "unbounded", discard: true }
    )
    return BUCKET_IDS.map(bucket => {
      const { threshold, windowMs } = buckets[bucket]
      const times = grants.get(bucket)!
      return {
        bucket,
        threshold,
        windowMs,
        grants: times.length,
        ofThreshold: times.length / (threshold * ((endAt - startAt) / windowMs)),
        sliding: meanWindowUtilisation(times, windowMs, threshold, startAt, endAt),
        ceiling: windowMs / (windowMs + marginMs),
        violations: windowViolations(times, windowMs, threshold)
      }
    })
  })

const main = Effect.gen(function* () {
  const url = Redacted.value(
    yield* Config.redacted("REDIS_URL").pipe(Config.withDefault(Redacted.make(RateBudgetRedis.DEFAULT_REDIS_URL)))
  )
  const prefix = `bench:rate-budget:${randomBytes(4).toString("hex")}:`
  const redis = yield* Effect.acquireRelease(
    Effect.sync(() => new Redis(url)),
    r => Effect.promise(() => r.quit())
  )
  yield* Effect.addFinalizer(() =>
    Effect.promise(async () => {
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length > 0) await redis.del(...keys)
    })
  )
  const build = (layer: Layer.Layer<RateBudget, RateBudgetError>) =>
    Layer.build(layer).pipe(Effect.map(Context.get(RateBudget)))
  const budget = yield* build(RateBudgetRedis.layer({ buckets: BUCKETS, shares: SHARES, redis: url, prefix }))
  const memory = yield* build(RateBudgetMemory.layer({ buckets: BUCKETS, shares: SHARES }))

  const info = yield* Effect.promise(() => redis.info("server"))
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "?"
  yield* Console.log(
    `\n### Decision cost (${DECISIONS} sequential calls each, Redis ${version} at ${new URL(url).host})\n`
  )
  yield* Console.log("| operation | p50 µs | p99 µs | mean µs |\n|---|---:|---:|---:|")
  for (const row of yield* costs(redis, prefix, budget, memory))
    yield* Console.log(`| ${row.label} | ${f(row.p50)} | ${f(row.p99)} | ${f(row.mean)} |`)

  const callers = yield* Effect.all(
    [1, 2, 3].map(() => build(RateBudgetRedis.layer({ buckets: BUCKETS, redis: url, prefix, timeScale: TIME_SCALE })))
  )
  const rows = yield* utilisation(callers)
  const { marginMs } = callers[0]!
  yield* Console.log(
    `\n### Utilisation: 3 callers (own connections), every bucket at once, ${WINDOWS} windows, time scale 1/${Math.round(1 / TIME_SCALE)} (margin ${marginMs} ms)\n`
  )
  yield* Console.log(
    "| bucket | threshold | window ms | grants | grants / (threshold × windows) | mean sliding-window use | ceiling W/(W+margin) | violations |\n|---|---:|---:|---:|---:|---:|---:|---:|"
  )
  for (const r of rows)
    yield* Console.log(
      `| ${r.bucket} | ${r.threshold} | ${r.windowMs} | ${r.grants} | ${f(100 * r.ofThreshold)}% | ${f(100 * r.sliding)}% | ${f(100 * r.ceiling)}% | ${r.violations} |`
    )
})

Effect.runPromise(Effect.scoped(main)).catch(error => {
  console.error(error)
  process.exitCode = 1
})
