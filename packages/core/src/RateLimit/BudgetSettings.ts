import { Effect, Either } from "effect"
import { BUCKET_IDS, type BucketId, type BucketLimit, type BucketTable, scaleBuckets } from "../Cliq/Buckets.js"
import { type BudgetRequest, RateBudgetError } from "./RateBudget.js"

export interface ShareSpec {
  /** Fraction of the threshold held for this share: while it is unused, no other caller may take it. */
  readonly reserve?: number
  /** Fraction of the threshold this share may hold at most. */
  readonly max?: number
}

export type ShareTable = { readonly [B in BucketId]?: Readonly<Record<string, ShareSpec>> }

export interface BudgetOptions {
  /** The unscaled table (e.g. `BUCKETS` or `loadBucketTable`); `timeScale` is applied here. */
  readonly buckets: BucketTable
  /** Multiplies windows and locks, as the simulator's `--time-scale` does (default 1). */
  readonly timeScale?: number
  /** Added to every window (default `defaultMarginMs(timeScale)`). */
  readonly marginMs?: number
  readonly shares?: ShareTable
  /**
   * For callers that settle every grant: the longest a granted call may take to end (not time-scaled, as latency is
   * not). Until it is settled or refunded, or this long after its grant, its slot does not age out of the window. Unset:
   * a slot ages out one window after its grant or settle, whether or not its call has ended.
   */
  readonly maxCallMs?: number
}

/** What one admission decision needs; mirrored argument for argument by the Lua script. */
export interface SharePlan {
  readonly threshold: number
  readonly windowUs: number
  /** Share name as stored in the log ("" for unreserved callers). */
  readonly self: string
  /** Slots this share may hold; -1 when uncapped. */
  readonly cap: number
  /** Slots reserved by the other shares of the bucket. */
  readonly reserves: ReadonlyArray<readonly [string, number]>
  readonly maxCost: number
}

export interface BudgetSettings {
  readonly buckets: BucketTable
  readonly marginMs: number
  readonly maxFlightUs: number
  readonly effectiveWindowUs: (bucket: BucketId) => number
  readonly plan: (request: BudgetRequest) => Either.Either<SharePlan, RateBudgetError>
}

/**
 * The margin covers network latency between our send and the upstream's arrival, which does not shrink with simulated
 * time: 2 s at real speed, scaled with the windows, but never below 50 ms.
 */
export const defaultMarginMs = (timeScale: number): number => Math.max(50, Math.round(2000 * timeScale))

/** What the daemon passes as `maxCallMs`: well above the client's 30 s request timeout plus a slow claim before it. */
export const DAEMON_MAX_CALL_MS = 120_000

const SHARE_NAME = /^[A-Za-z0-9_.:-]+$/

const isFraction = (x: number | undefined) => x === undefined || (Number.isFinite(x) && x >= 0 && x <= 1)

const validateShares = (buckets: BucketTable, shares: ShareTable): string | undefined => {
  for (const [bucket, table] of Object.entries(shares)) {
    const limit = (buckets as Record<string, BucketLimit | undefined>)[bucket]
    if (!limit) return `shares: unknown bucket "${bucket}"`
    let reserved = 0
    for (const [name, spec] of Object.entries(table ?? {})) {
      const where = `shares.${bucket}.${name}`
      if (!SHARE_NAME.test(name)) return `${where}: name must match ${SHARE_NAME}`
      if (!isFraction(spec.reserve) || !isFraction(spec.max)) return `${where}: reserve and max are fractions in [0, 1]`
      if (spec.max !== undefined && Math.floor(spec.max * limit.threshold) < 1)
        return `${where}: max ${spec.max} of threshold ${limit.threshold} leaves no slot`
      if (spec.max !== undefined && (spec.reserve ?? 0) > spec.max) return `${where}: reserve exceeds max`
      reserved += spec.reserve ?? 0
    }
    if (reserved > 1 + 1e-9) return `shares.${bucket}: reserves add up to more than the whole threshold`
  }
  return undefined
}

const planFor = (limit: BucketLimit, windowUs: number, table: Readonly<Record<string, ShareSpec>>, self: string) => {
  const spec = table[self]
  const cap = spec?.max === undefined ? -1 : Math.floor(spec.max * limit.threshold)
  const reserves = Object.entries(table)
    .filter(([name, s]) => name !== self && (s.reserve ?? 0) > 0)
    .map(([name, s]) => [name, Math.floor((s.reserve ?? 0) * limit.threshold)] as const)
    .filter(([, slots]) => slots > 0)
  const held = reserves.reduce((sum, [, slots]) => sum + slots, 0)
  const maxCost = Math.min(cap === -1 ? limit.threshold : cap, limit.threshold - held)
  return { threshold: limit.threshold, windowUs, self, cap, reserves, maxCost } satisfies SharePlan
}

export const makeSettings = (options: BudgetOptions): Effect.Effect<BudgetSettings, RateBudgetError> =>
  Effect.gen(function* () {
    const timeScale = options.timeScale ?? 1
    if (!(Number.isFinite(timeScale) && timeScale > 0))
      return yield* new RateBudgetError({ message: `timeScale must be a positive number, got ${timeScale}` })
    const marginMs = options.marginMs ?? defaultMarginMs(timeScale)
    if (!(Number.isFinite(marginMs) && marginMs >= 0))
      return yield* new RateBudgetError({ message: `marginMs must be a non-negative number, got ${marginMs}` })
    const maxCallMs = options.maxCallMs ?? 0
    if (!(Number.isFinite(maxCallMs) && maxCallMs >= 0))
      return yield* new RateBudgetError({ message: `maxCallMs must be a positive number, got ${maxCallMs}` })
    const shares = options.shares ?? {}
    const invalid = validateShares(options.buckets, shares)
    if (invalid) return yield* new RateBudgetError({ message: invalid })

    const buckets = scaleBuckets(options.buckets, timeScale)
    const plans = new Map<string, SharePlan>()
    for (const bucket of BUCKET_IDS) {
      const limit = buckets[bucket]
      const windowUs = Math.round((limit.windowMs + marginMs) * 1000)
      const table = shares[bucket] ?? {}
      for (const self of ["", ...Object.keys(table)])
        plans.set(`${bucket}|${self}`, planFor(limit, windowUs, table, self))
    }

    const plan = (request: BudgetRequest): Either.Either<SharePlan, RateBudgetError> => {
      const found = plans.get(`${request.bucket}|${request.share ?? ""}`)
      if (!found)
        return Either.left(
          new RateBudgetError({ message: `share "${request.share}" is not declared for ${request.bucket}` })
        )
      const cost = request.cost ?? 1
      if (!Number.isInteger(cost) || cost < 1 || cost > found.maxCost)
        return Either.left(
          new RateBudgetError({
            message: `cost ${cost} can never be granted on ${request.bucket} (share "${found.self}" holds at most ${found.maxCost})`
          })
        )
      return Either.right(found)
    }

    return {
      buckets,
      marginMs,
      maxFlightUs: Math.round(maxCallMs * 1000),
      effectiveWindowUs: bucket => Math.round((buckets[bucket].windowMs + marginMs) * 1000),
      plan
    }
  })
