import { Effect } from "effect"
import { Database } from "./Database.js"

export interface StreamState {
  readonly highWaterMs: number | null
  readonly boundaryIds: ReadonlyArray<string>
  readonly cursor: Record<string, unknown>
  readonly consecutiveFailures: number
}

const EMPTY: StreamState = { highWaterMs: null, boundaryIds: [], cursor: {}, consecutiveFailures: 0 }

export class SyncStateRepo extends Effect.Service<SyncStateRepo>()("@cliq-mirror/db/SyncStateRepo", {
  effect: Effect.gen(function* () {
    const database = yield* Database
    const read = (accountId: string, stream: string) =>
      database.use(async (_, sql) => {
        const rows = await sql<
          Array<{
            high_water_ms: string | null
            boundary_ids: Array<string>
            cursor: Record<string, unknown>
            consecutive_failures: number
          }>
        >`select high_water_ms, boundary_ids, cursor, consecutive_failures from sync_state
          where account_id = ${accountId} and stream = ${stream}`
        const r = rows[0]
        if (!r) return EMPTY
        return {
          highWaterMs: r.high_water_ms === null ? null : Number(r.high_water_ms),
          boundaryIds: r.boundary_ids,
          cursor: r.cursor,
          consecutiveFailures: r.consecutive_failures
        } satisfies StreamState
      })
    const recordFailure = (accountId: string, stream: string, error: { code: string; message: string }) =>
      database
        .use(
          (_, sql) => sql`
          insert into sync_state (account_id, stream, status, last_error, consecutive_failures, last_run_at)
          values (${accountId}, ${stream}, 'backing_off',
            ${JSON.stringify({ ...error, at: new Date().toISOString() })}::text::jsonb, 1, now())
          on conflict (account_id, stream) do update set status = 'backing_off', last_error = excluded.last_error,
            consecutive_failures = sync_state.consecutive_failures + 1, last_run_at = now(), updated_at = now()`
        )
        .pipe(Effect.asVoid)
    return {
      read: Effect.fn("SyncStateRepo.read")(read),
      recordFailure: Effect.fn("SyncStateRepo.recordFailure")(recordFailure)
    } as const
  })
}) {}
