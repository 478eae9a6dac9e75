import { randomBytes } from "node:crypto"
import { Effect, Layer, Redacted, Runtime } from "effect"
import { Redis } from "ioredis"
import type { BucketId } from "../Cliq/Buckets.js"
import { RedisUrl } from "../Settings.js"
import { grantMembers } from "./Admission.js"
import {
  acquireScript,
  lockScript,
  refundScript,
  restoreLockScript,
  settleScript,
  usageScript
} from "./BudgetScripts.js"
import { type BudgetOptions, makeSettings } from "./BudgetSettings.js"
import {
  type BudgetRequest,
  type BudgetTarget,
  type BudgetUsage,
  type DenialReason,
  Denied,
  Granted,
  type LockRequest,
  makeAcquire,
  RateBudget,
  RateBudgetError,
  type RestoreLockRequest
} from "./RateBudget.js"

export interface RedisBudgetOptions extends BudgetOptions {
  /** A client the caller owns, or a URL (its database number is honoured) for a connection owned by the layer. */
  readonly redis: Redis | string
  /** Prefix of every key, so tests and deployments sharing a Redis stay apart (default "cliq-mirror:budget:"). */
  readonly prefix?: string
  /**
   * The prefix is known never to have held a budget (a test's own prefix): a missing epoch marker when the layer is
   * built is a first start, not lost state, and nobody waits. Never in production: a wipe while every process was
   * down would go unnoticed.
   */
  readonly freshRedis?: boolean
}

type Args = ReadonlyArray<string | number>
type AcquireReply = [0 | 1, string, number, number, number]
type UsageReply = [number, number, number, number, number, ...Array<string | number>]

interface BudgetRedis extends Redis {
  cliqBudgetAcquire(log: string, lock: string, epoch: string, flight: string, ...args: Args): Promise<AcquireReply>
  cliqBudgetRefund(log: string, flight: string, ...members: ReadonlyArray<string>): Promise<number>
  cliqBudgetLock(lock: string, durationUs: number): Promise<[number, number]>
  cliqBudgetRestoreLock(lock: string, untilUs: number): Promise<[number, number]>
  cliqBudgetSettle(
    log: string,
    epoch: string,
    flight: string,
    windowUs: number,
    ...members: ReadonlyArray<string>
  ): Promise<number>
  cliqBudgetUsage(log: string, lock: string, epoch: string, windowUs: number, rawWindowUs: number): Promise<UsageReply>
}

interface BudgetPipeline {
  cliqBudgetUsage(log: string, lock: string, epoch: string, windowUs: number, rawWindowUs: number): BudgetPipeline
  exec(): Promise<Array<[Error | null, unknown]> | null>
}

export { DEFAULT_REDIS_URL } from "../Settings.js"

const connect = (url: string, onError: (error: Error) => void) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 })
        redis.on("error", onError)
        await redis.connect().catch(error => {
          redis.disconnect()
          throw error
        })
        return redis
      },
      catch: cause => new RateBudgetError({ message: "cannot connect to Redis", cause })
    }),
    redis => Effect.tryPromise(() => redis.quit()).pipe(Effect.ignore)
  )

const ms = (us: number) => us / 1000

export const make = Effect.fn("RateBudgetRedis.make")(function* (options: RedisBudgetOptions) {
  const settings = yield* makeSettings(options)
  const runtime = yield* Effect.runtime<never>()
  // Commands fail with a RateBudgetError anyway; the connection's own errors are only worth a log line.
  const onError = (error: Error) =>
    Runtime.runFork(runtime)(Effect.logWarning("RateBudgetRedis connection error", error.message))
  const client = typeof options.redis === "string" ? yield* connect(options.redis, onError) : options.redis
  const redis = client as BudgetRedis
  redis.defineCommand("cliqBudgetAcquire", { lua: acquireScript, numberOfKeys: 4 })
  redis.defineCommand("cliqBudgetRefund", { lua: refundScript, numberOfKeys: 2 })
  redis.defineCommand("cliqBudgetLock", { lua: lockScript, numberOfKeys: 1 })
  redis.defineCommand("cliqBudgetRestoreLock", { lua: restoreLockScript, numberOfKeys: 1 })
  redis.defineCommand("cliqBudgetSettle", { lua: settleScript, numberOfKeys: 3 })
  redis.defineCommand("cliqBudgetUsage", { lua: usageScript, numberOfKeys: 3, readOnly: true })

  const prefix = options.prefix ?? "cliq-mirror:budget:"
  // One marker for the whole budget, so every script names it among its KEYS (a single Redis, not a Cluster).
  const epoch = `${prefix}epoch`
  // The hash tag keeps a bucket's log and lock in one cluster slot, so one script may touch both.
  const keysOf = (target: BudgetTarget) => {
    const base = `${prefix}{${target.key}|${target.bucket}}`
    return { log: `${base}:log`, lock: `${base}:lock`, flight: `${base}:flight` }
  }
  const use = <A>(what: string, f: (redis: BudgetRedis) => Promise<A>) =>
    Effect.tryPromise({ try: () => f(redis), catch: cause => new RateBudgetError({ message: `Redis ${what}`, cause }) })

  const origin = randomBytes(6).toString("base64url")
  let sequence = 0
  const declareFirstStart = use("declare first start", r => r.set(epoch, "0", "NX")).pipe(
    Effect.asVoid,
    Effect.withSpan("RateBudget.declareFirstStart")
  )
  if (options.freshRedis === true) yield* declareFirstStart

  let reportedLoss = 0
  const reportLoss = (lostAtUs: number, retryAtMs: number) => {
    if (lostAtUs <= reportedLoss) return Effect.void
    reportedLoss = lostAtUs
    return Effect.logWarning(
      "the rate budget's state in Redis is gone (first start, wipe, restart without persistence or eviction): " +
        "every bucket counts as full for one window + margin"
    ).pipe(
      Effect.annotateLogs({ lostAt: new Date(ms(lostAtUs)).toISOString(), until: new Date(retryAtMs).toISOString() })
    )
  }

  const tryAcquire = Effect.fn("RateBudget.tryAcquire")(function* (request: BudgetRequest) {
    const plan = yield* settings.plan(request)
    const cost = request.cost ?? 1
    const slotId = `${plan.self}|${origin}${(sequence++).toString(36)}`
    const { log, lock, flight } = keysOf(request)
    const args: Args = [
      plan.windowUs,
      plan.threshold,
      cost,
      slotId,
      plan.self,
      plan.cap,
      settings.maxFlightUs,
      ...plan.reserves.flat()
    ]
    const [granted, detail, at, now, lostAt] = yield* use("acquire", r =>
      r.cliqBudgetAcquire(log, lock, epoch, flight, ...args)
    )
    const common = { key: request.key, bucket: request.bucket, share: request.share }
    if (granted === 1) return new Granted({ ...common, cost, slotId: detail, at: ms(at) })
    const retryAt = Math.ceil(ms(at))
    if (detail === "recovering") yield* reportLoss(lostAt, retryAt)
    return new Denied({ ...common, reason: detail as DenialReason, retryAt, now: ms(now) })
  })

  const refund = Effect.fn("RateBudget.refund")(function* (grant: Granted) {
    const { log, flight } = keysOf(grant)
    yield* use("refund", r => r.cliqBudgetRefund(log, flight, ...grantMembers(grant.slotId, grant.cost)))
  })

  const settle = Effect.fn("RateBudget.settle")(function* (grant: Granted) {
    const { log, flight } = keysOf(grant)
    const windowUs = settings.effectiveWindowUs(grant.bucket)
    const members = grantMembers(grant.slotId, grant.cost)
    yield* use("settle", r => r.cliqBudgetSettle(log, epoch, flight, windowUs, ...members))
  })

  const lock = Effect.fn("RateBudget.lock")(function* (request: LockRequest) {
    const lockMs = Math.max(settings.buckets[request.bucket].lockMs, request.retryAfterMs ?? 0)
    const [until, now] = yield* use("lock", r => r.cliqBudgetLock(keysOf(request).lock, Math.round(lockMs * 1000)))
    return { key: request.key, bucket: request.bucket, lockedAt: ms(now), lockedUntil: ms(until) }
  })

  const restoreLock = Effect.fn("RateBudget.restoreLock")(function* (request: RestoreLockRequest) {
    const untilUs = Math.round(request.lockedUntil * 1000)
    const [until, now] = yield* use("restore lock", r => r.cliqBudgetRestoreLock(keysOf(request).lock, untilUs))
    return until > now ? { key: request.key, bucket: request.bucket, lockedAt: ms(now), lockedUntil: ms(until) } : null
  })

  const toUsage = (target: BudgetTarget, reply: UsageReply): BudgetUsage => {
    const [now, locked, recent, counted, recovering, ...pairs] = reply
    const byShare: Record<string, number> = {}
    for (let i = 0; i + 1 < pairs.length; i += 2) byShare[String(pairs[i])] = Number(pairs[i + 1])
    const limit = settings.buckets[target.bucket]
    return {
      key: target.key,
      bucket: target.bucket,
      threshold: limit.threshold,
      windowMs: limit.windowMs,
      marginMs: settings.marginMs,
      usedInWindow: recent,
      counted,
      byShare,
      lockedUntil: locked > 0 ? ms(locked) : null,
      recoveringUntil: recovering > 0 ? ms(recovering) : null,
      now: ms(now)
    }
  }
  const usageArgs = (bucket: BucketId) =>
    [settings.effectiveWindowUs(bucket), settings.buckets[bucket].windowMs * 1000] as const

  const usage = Effect.fn("RateBudget.usage")(function* (target: BudgetTarget) {
    const { log, lock } = keysOf(target)
    const reply = yield* use("usage", r => r.cliqBudgetUsage(log, lock, epoch, ...usageArgs(target.bucket)))
    return toUsage(target, reply)
  })

  const snapshot = Effect.fn("RateBudget.snapshot")(function* (targets: ReadonlyArray<BudgetTarget>) {
    if (targets.length === 0) return []
    const replies = yield* use("snapshot", async r => {
      const pipeline = r.pipeline() as unknown as BudgetPipeline
      for (const target of targets) {
        const { log, lock } = keysOf(target)
        pipeline.cliqBudgetUsage(log, lock, epoch, ...usageArgs(target.bucket))
      }
      return (await pipeline.exec()) ?? []
    })
    return yield* Effect.forEach(targets, (target, i) => {
      const [error, reply] = replies[i] ?? [new Error("missing pipeline reply"), undefined]
      return error
        ? new RateBudgetError({ message: "Redis snapshot", cause: error })
        : Effect.succeed(toUsage(target, reply as UsageReply))
    })
  })

  return RateBudget.of({
    buckets: settings.buckets,
    marginMs: settings.marginMs,
    tryAcquire,
    ...makeAcquire(tryAcquire),
    refund,
    settle,
    lock,
    restoreLock,
    declareFirstStart,
    usage,
    snapshot
  })
})

export const layer = (options: RedisBudgetOptions): Layer.Layer<RateBudget, RateBudgetError> =>
  Layer.scoped(RateBudget, make(options))

/** Reads REDIS_URL (default redis://127.0.0.1:6379); the layer owns the connection. */
export const layerConfig = (options: Omit<RedisBudgetOptions, "redis">) =>
  Layer.scoped(
    RateBudget,
    Effect.gen(function* () {
      const url = yield* RedisUrl
      return yield* make({ ...options, redis: Redacted.value(url) })
    })
  )
