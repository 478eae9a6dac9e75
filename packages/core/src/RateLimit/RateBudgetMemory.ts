import { Clock, Effect, Layer } from "effect"
import { admit, grantMembers, type LogEntry, memberShare, trimLog } from "./Admission.js"
import { type BudgetOptions, makeSettings } from "./BudgetSettings.js"
import {
  type BudgetRequest,
  type BudgetTarget,
  type BudgetUsage,
  Denied,
  Granted,
  type LockRequest,
  makeAcquire,
  RateBudget,
  type RateBudgetError,
  type RestoreLockRequest
} from "./RateBudget.js"

interface BucketState {
  log: Array<LogEntry>
  lockedUntilUs: number
}

const nowUs = Clock.currentTimeNanos.pipe(Effect.map(nanos => Number(nanos / 1000n)))
const ms = (us: number) => us / 1000

/** One process only, on Effect's `Clock` (so `TestClock` drives it): for unit tests of the budget's callers. */
export const make = Effect.fn("RateBudgetMemory.make")(function* (options: BudgetOptions) {
  const settings = yield* makeSettings(options)
  const states = new Map<string, BucketState>()
  const stateOf = (target: BudgetTarget) => {
    const id = `${target.key}|${target.bucket}`
    const found = states.get(id)
    if (found) return found
    const fresh: BucketState = { log: [], lockedUntilUs: 0 }
    states.set(id, fresh)
    return fresh
  }
  let sequence = 0

  const tryAcquire = Effect.fn("RateBudget.tryAcquire")(function* (request: BudgetRequest) {
    const plan = yield* settings.plan(request)
    const cost = request.cost ?? 1
    const now = yield* nowUs
    const state = stateOf(request)
    const common = { key: request.key, bucket: request.bucket, share: request.share }
    if (state.lockedUntilUs > now)
      return new Denied({ ...common, reason: "locked", retryAt: Math.ceil(ms(state.lockedUntilUs)), now: ms(now) })
    state.log = trimLog(state.log, now, plan.windowUs, settings.maxFlightUs)
    const verdict = admit(state.log, plan, cost)
    if (verdict._tag === "Block")
      return new Denied({ ...common, reason: verdict.reason, retryAt: Math.ceil(ms(verdict.retryAtUs)), now: ms(now) })
    const slotId = `${plan.self}|m${(sequence++).toString(36)}`
    for (const member of grantMembers(slotId, cost))
      state.log.push(
        settings.maxFlightUs > 0
          ? { member, share: plan.self, atUs: now, inFlightSinceUs: now }
          : { member, share: plan.self, atUs: now }
      )
    return new Granted({ ...common, cost, slotId, at: ms(now) })
  })

  const refund = Effect.fn("RateBudget.refund")(function* (grant: Granted) {
    const members = new Set(grantMembers(grant.slotId, grant.cost))
    const state = stateOf(grant)
    state.log = state.log.filter(entry => !members.has(entry.member))
  })

  const settle = Effect.fn("RateBudget.settle")(function* (grant: Granted) {
    const members = new Set(grantMembers(grant.slotId, grant.cost))
    const now = yield* nowUs
    const state = stateOf(grant)
    state.log = state.log
      .map(entry =>
        members.has(entry.member)
          ? { member: entry.member, share: entry.share, atUs: Math.max(entry.atUs, now) }
          : entry
      )
      .sort((a, b) => a.atUs - b.atUs)
  })

  const lock = Effect.fn("RateBudget.lock")(function* (request: LockRequest) {
    const lockMs = Math.max(settings.buckets[request.bucket].lockMs, request.retryAfterMs ?? 0)
    const now = yield* nowUs
    const state = stateOf(request)
    state.lockedUntilUs = Math.max(state.lockedUntilUs, now + Math.round(lockMs * 1000))
    return { key: request.key, bucket: request.bucket, lockedAt: ms(now), lockedUntil: ms(state.lockedUntilUs) }
  })

  const restoreLock = Effect.fn("RateBudget.restoreLock")(function* (request: RestoreLockRequest) {
    const now = yield* nowUs
    const state = stateOf(request)
    state.lockedUntilUs = Math.max(state.lockedUntilUs, Math.round(request.lockedUntil * 1000))
    return state.lockedUntilUs > now
      ? { key: request.key, bucket: request.bucket, lockedAt: ms(now), lockedUntil: ms(state.lockedUntilUs) }
      : null
  })

  const usage = Effect.fn("RateBudget.usage")(function* (target: BudgetTarget) {
    const now = yield* nowUs
    const state = stateOf(target)
    const limit = settings.buckets[target.bucket]
    const counted = state.log.filter(entry => entry.atUs > now - settings.effectiveWindowUs(target.bucket))
    const byShare: Record<string, number> = {}
    for (const entry of counted) byShare[memberShare(entry.member)] = (byShare[memberShare(entry.member)] ?? 0) + 1
    return {
      key: target.key,
      bucket: target.bucket,
      threshold: limit.threshold,
      windowMs: limit.windowMs,
      marginMs: settings.marginMs,
      usedInWindow: counted.filter(entry => entry.atUs > now - limit.windowMs * 1000).length,
      counted: counted.length,
      byShare,
      lockedUntil: state.lockedUntilUs > now ? ms(state.lockedUntilUs) : null,
      // One process's memory cannot lose part of its state.
      recoveringUntil: null,
      now: ms(now)
    } satisfies BudgetUsage
  })

  const snapshot = (targets: ReadonlyArray<BudgetTarget>) => Effect.forEach(targets, usage)

  return RateBudget.of({
    buckets: settings.buckets,
    marginMs: settings.marginMs,
    tryAcquire,
    ...makeAcquire(tryAcquire),
    refund,
    settle,
    lock,
    restoreLock,
    declareFirstStart: Effect.void,
    usage,
    snapshot
  })
})

export const layer = (options: BudgetOptions): Layer.Layer<RateBudget, RateBudgetError> =>
  Layer.effect(RateBudget, make(options))
