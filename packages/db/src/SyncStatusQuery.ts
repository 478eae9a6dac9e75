import { asc, count, max, sql } from "drizzle-orm"
import { Duration, Effect } from "effect"
import { Database } from "./Database.js"
import { accountCredentials, accounts, chats, commands, events, syncState } from "./schema.js"

export interface StreamStatus {
  readonly accountId: string
  readonly stream: string
  readonly highWaterMs: number | null
  readonly status: string
  readonly lastRunAt: Date | null
  readonly lastSuccessAt: Date | null
  readonly lastError: { readonly code: string; readonly message: string; readonly at?: string } | null
  readonly consecutiveFailures: number
  /** Milliseconds since the stream last completed a full pass (one clock: Postgres `now()`). */
  readonly lagMs: number | null
}

export interface AccountStatus {
  readonly accountId: string
  readonly credentials: "ok" | "needs_reauthorisation"
  /** Why and since when, while the credentials are refused. */
  readonly credentialsProblem: { readonly reason: string; readonly since: Date | null } | null
  readonly chatsMirrored: number
  readonly streams: ReadonlyArray<StreamStatus>
}

export interface SyncSnapshot {
  readonly now: Date
  readonly accounts: ReadonlyArray<AccountStatus>
  readonly commandsByStatus: Readonly<Record<string, number>>
  readonly eventsMaxSeq: number
}

const credentialsOf = (
  row: typeof accountCredentials.$inferSelect | undefined
): Pick<AccountStatus, "credentials" | "credentialsProblem"> =>
  row === undefined || row.state === "ok"
    ? { credentials: "ok", credentialsProblem: null }
    : {
        credentials: "needs_reauthorisation",
        credentialsProblem: { reason: row.reason ?? "unknown", since: row.since }
      }

/** How old chats mirrored and commands by status may be. */
export const COUNTS_TTL = Duration.seconds(5)

export class SyncStatusQuery extends Effect.Service<SyncStatusQuery>()("@cliq-mirror/db/SyncStatusQuery", {
  effect: Effect.gen(function* () {
    const database = yield* Database

    // Counting chats and commands reads whole tables: /metrics and /v1/sync/status share one count for a few seconds
    // (concurrent requests wait for the same one) instead of counting per request. A failed count is not kept.
    const [cachedCounts, forgetCounts] = yield* Effect.cachedInvalidateWithTTL(
      database.use(db =>
        Promise.all([
          db.select({ accountId: chats.accountId, n: count() }).from(chats).groupBy(chats.accountId),
          db.select({ status: commands.status, n: count() }).from(commands).groupBy(commands.status)
        ])
      ),
      COUNTS_TTL
    )
    const tableCounts = cachedCounts.pipe(Effect.tapError(() => forgetCounts))

    const snapshot = Effect.fn("SyncStatusQuery.snapshot")(function* () {
      const [counts, queue] = yield* tableCounts
      const [clock, known, streams, maxSeq, creds] = yield* database.use(db =>
        db.transaction(
          async tx =>
            [
              await tx.execute<{ now_ms: number }>(sql`select (extract(epoch from now()) * 1000)::float8 as now_ms`),
              await tx.select({ id: accounts.id }).from(accounts),
              await tx
                .select({
                  accountId: syncState.accountId,
                  stream: syncState.stream,
                  highWaterMs: syncState.highWaterMs,
                  status: syncState.status,
                  lastRunAt: syncState.lastRunAt,
                  lastSuccessAt: syncState.lastSuccessAt,
                  lastError: syncState.lastError,
                  consecutiveFailures: syncState.consecutiveFailures,
                  lagMs: sql<
                    number | null
                  >`(extract(epoch from now() - ${syncState.lastSuccessAt}) * 1000)::float8`.mapWith(v =>
                    v === null ? null : Number(v)
                  )
                })
                .from(syncState)
                .orderBy(asc(syncState.accountId), asc(syncState.stream)),
              await tx.select({ seq: max(events.seq) }).from(events),
              await tx.select().from(accountCredentials)
            ] as const,
          { isolationLevel: "repeatable read", accessMode: "read only" }
        )
      )
      const chatsMirrored = new Map(counts.map(c => [c.accountId, c.n]))
      const credentials = new Map(creds.map(c => [c.accountId, c]))
      const ids = [
        ...new Set([...known.map(a => a.id), ...streams.map(s => s.accountId), ...chatsMirrored.keys()])
      ].sort()
      return {
        now: new Date(Math.floor(Number(clock[0]!.now_ms))),
        accounts: ids.map(accountId => ({
          accountId,
          ...credentialsOf(credentials.get(accountId)),
          chatsMirrored: chatsMirrored.get(accountId) ?? 0,
          streams: streams.filter(s => s.accountId === accountId)
        })),
        commandsByStatus: Object.fromEntries(queue.map(q => [q.status, q.n])),
        eventsMaxSeq: Number(maxSeq[0]?.seq ?? 0)
      } satisfies SyncSnapshot
    })

    return { snapshot } as const
  }),
  dependencies: [Database.Default]
}) {}
