import {
  CliqClient,
  CliqClientConfig,
  DAEMON_MAX_CALL_MS,
  loadBucketTable,
  RateBudgetRedis,
  RedisPrefix,
  RedisUrl,
  type ShareTable,
  TokenStore
} from "@cliq-mirror/core"
import {
  CommandsQuery,
  CommandsRepo,
  Database,
  DatabaseUrl,
  MirrorQueries,
  MirrorWriter,
  migrateDatabase,
  SyncStateRepo
} from "@cliq-mirror/db"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer, Redacted } from "effect"
import { DaemonConfig } from "./Config.js"
import { Upstream } from "./Upstream.js"

/**
 * Who may use what of a bucket. Incremental polls keep 40 % of search for fresh data whatever else runs; the
 * reconciliation sweep never takes more than half of search or of get-chat, so commands and polls are not starved.
 */
export const SHARES: ShareTable = {
  "chats.search": { incremental: { reserve: 0.4 }, reconcile: { max: 0.5 } },
  "chats.get": { reconcile: { max: 0.5 } },
  // The hidden states of chats that just moved keep half of the listings; the complete state listings take the rest.
  "chats.list": { hidden: { reserve: 0.5 }, state: { max: 0.5 } }
}

export const MigrateLive = Layer.effectDiscard(
  Effect.flatMap(DatabaseUrl, url => migrateDatabase(Redacted.value(url))).pipe(
    Effect.tap(() => Effect.logInfo("database migrated"))
  )
)

export const RateBudgetLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const { timeScale } = yield* DaemonConfig
    const buckets = yield* loadBucketTable
    const prefix = yield* RedisPrefix
    return RateBudgetRedis.layerConfig({
      buckets,
      timeScale,
      shares: SHARES,
      prefix: `${prefix}budget:`,
      maxCallMs: DAEMON_MAX_CALL_MS
    })
  })
).pipe(Layer.provide(NodeFileSystem.layer))

export const CliqClientLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const { timeScale } = yield* DaemonConfig
    const url = yield* RedisUrl
    const prefix = yield* RedisPrefix
    return CliqClient.DefaultWithoutDependencies.pipe(
      Layer.provide([
        NodeHttpClient.layerUndici,
        CliqClientConfig.layer({ timeScale }),
        TokenStore.layer({ url, prefix: `${prefix}auth:` })
      ])
    )
  })
)

export const UpstreamLive = Upstream.Default.pipe(Layer.provide([RateBudgetLive, CliqClientLive]))

export const MirrorLive = Layer.mergeAll(
  MirrorWriter.Default,
  MirrorQueries.Default,
  SyncStateRepo.Default,
  CommandsRepo.Default,
  CommandsQuery.Default
).pipe(Layer.provideMerge(Database.Default))
