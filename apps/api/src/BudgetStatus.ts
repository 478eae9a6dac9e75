import {
  BUCKET_IDS,
  type BudgetTarget,
  budgetKey,
  loadBucketTable,
  RateBudget,
  RateBudgetRedis
} from "@cliq-mirror/core"
import { NodeFileSystem } from "@effect/platform-node"
import { Context, Data, Effect, Layer } from "effect"
import { ApiAccounts } from "./Accounts.js"
import { RedisPrefix, TimeScale } from "./Config.js"
import type { BucketUsage } from "./Dto/SyncStatus.js"
import { Redis } from "./Redis.js"

export class BudgetUnavailable extends Data.TaggedError("BudgetUnavailable")<{ readonly cause: unknown }> {}

/** Port: how much of each upstream bucket every account has spent, as the shared rate budget sees it. */
export class BudgetStatus extends Context.Tag("@cliq-mirror/api/BudgetStatus")<
  BudgetStatus,
  {
    readonly snapshot: (
      accountIds: ReadonlyArray<string>
    ) => Effect.Effect<ReadonlyArray<BucketUsage>, BudgetUnavailable>
  }
>() {}

/**
 * Reads the daemon's RateBudget. Client-scoped buckets are keyed by the account's OAuth client id, which only the
 * accounts configuration knows (ApiAccounts): when it is not readable here, the account id stands in.
 */
export const makeBudgetStatus = (clientKeys: ReadonlyMap<string, string>) =>
  Effect.gen(function* () {
    const budget = yield* RateBudget
    const snapshot = Effect.fn("BudgetStatus.snapshot")(
      function* (accountIds: ReadonlyArray<string>) {
        const targets = accountIds.flatMap(id =>
          BUCKET_IDS.map(bucket => ({
            accountId: id,
            target: {
              key: budgetKey({ id, clientKey: clientKeys.get(id) ?? id }, bucket, budget.buckets),
              bucket
            } satisfies BudgetTarget
          }))
        )
        const usages = yield* budget.snapshot(targets.map(t => t.target))
        return usages.map(
          (usage, i): BucketUsage => ({
            accountId: targets[i]!.accountId,
            bucket: usage.bucket,
            threshold: usage.threshold,
            usedInWindow: usage.usedInWindow,
            lockedUntil: usage.lockedUntil === null ? null : new Date(usage.lockedUntil)
          })
        )
      },
      Effect.mapError(cause => new BudgetUnavailable({ cause }))
    )
    return { snapshot }
  })

export const BudgetStatusLive = Layer.effect(
  BudgetStatus,
  Effect.flatMap(ApiAccounts, accounts => makeBudgetStatus(accounts.clientKeys))
).pipe(Layer.provide(ApiAccounts.Default))

/**
 * The rate budget read through the API's own Redis client, with the daemon's key prefix, time scale and bucket table
 * (REDIS_PREFIX, CLIQ_TIME_SCALE, RATE_LIMITS_FILE). `npm start` provides the daemon's RateBudget instead.
 */
export const ApiRateBudgetLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const redis = yield* Redis
    const buckets = yield* loadBucketTable
    const timeScale = yield* TimeScale
    const prefix = yield* RedisPrefix
    return RateBudgetRedis.layer({ redis: redis.client, prefix: `${prefix}budget:`, buckets, timeScale })
  })
).pipe(Layer.provide(NodeFileSystem.layer))
