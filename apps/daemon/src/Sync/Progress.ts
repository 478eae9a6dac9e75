import { type Account, budgetKey, OPERATION_BY_ID, type RateBudgetShape } from "@cliq-mirror/core"
import { Database, type ObservedChat } from "@cliq-mirror/db"
import { Effect, Option } from "effect"
import { recordBackfill } from "../Metrics.js"
import { nextRange, type WalkState } from "./WindowWalk.js"

/** Into the gauges, and into `backfill_progress` for the API's status page (best effort: a failed write is skipped). */
const recordProgress = (
  accountId: string,
  p: { readonly covered: number; readonly items: number; readonly estimate: number; readonly etaMs: number }
) =>
  Effect.gen(function* () {
    recordBackfill(accountId, p.covered, p.etaMs)
    const database = yield* Effect.serviceOption(Database)
    if (Option.isNone(database)) return
    yield* database.value
      .use(
        (_, sql) => sql`
          insert into backfill_progress (account_id, stream, covered, items, estimated_total, eta_ms, updated_at)
          values (${accountId}, 'incremental', ${p.covered}, ${p.items}, ${p.estimate}, ${p.etaMs}, now())
          on conflict (account_id, stream) do update set covered = excluded.covered, items = excluded.items,
            estimated_total = excluded.estimated_total, eta_ms = excluded.eta_ms, updated_at = now()`
      )
      .pipe(Effect.ignore)
  })

/**
 * Progress of one backfill walk. It runs newest-first, so the share of the time axis already covered (from the newest
 * key down to the current upper bound, over the span back to the oldest creation time seen) estimates how far along
 * it is, hence the total and the time left.
 */
export const makeBackfillProgress = (account: Account, budget: RateBudgetShape) => {
  const startedAt = Date.now()
  let oldest = Number.POSITIVE_INFINITY
  const bucket = OPERATION_BY_ID.searchChats.bucket
  return (walk: WalkState, observed: ReadonlyArray<ObservedChat>) =>
    Effect.gen(function* () {
      for (const o of observed) {
        if (o.chat.createdTime !== null && o.chat.createdTime < oldest) oldest = o.chat.createdTime
      }
      const range = nextRange(walk)
      const usage = yield* budget.usage({ key: budgetKey(account, bucket, budget.buckets), bucket }).pipe(Effect.option)
      const covered =
        range && walk.maxKey !== null && Number.isFinite(oldest) && walk.maxKey > oldest
          ? Math.min(1, Math.max(0, (walk.maxKey - (range[1] ?? walk.maxKey)) / (walk.maxKey - oldest)))
          : 1
      const estimate = covered > 0 ? Math.max(walk.items, Math.round(walk.items / covered)) : walk.items
      const elapsed = Date.now() - startedAt
      const etaMs = covered > 0 && covered < 1 ? Math.round((elapsed / covered) * (1 - covered)) : 0
      yield* recordProgress(account.id, { covered, items: walk.items, estimate, etaMs })
      yield* Effect.logInfo("backfill progress").pipe(
        Effect.annotateLogs({
          chatsMirrored: walk.items,
          estimatedTotal: estimate,
          pages: walk.pages,
          budgetUsed: usage._tag === "Some" ? `${usage.value.usedInWindow}/${usage.value.threshold}` : "unknown",
          etaSeconds: Math.round(etaMs / 1000)
        })
      )
    })
}
