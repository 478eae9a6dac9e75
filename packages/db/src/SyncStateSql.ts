import type postgres from "postgres"
import type { TxSql } from "./EventAppend.js"

export interface CursorUpdate {
  readonly stream: string
  readonly highWaterMs?: number | null
  readonly boundaryIds?: ReadonlyArray<string>
  readonly cursor?: Record<string, unknown>
  readonly status?: string
  readonly success?: boolean
}

/**
 * Written inside the page's transaction (the cursor never moves past data that did not commit), or on its own for a
 * page that changes nothing. Sent at once.
 */
export const writeCursor = (
  tx: TxSql | postgres.Sql,
  accountId: string,
  c: CursorUpdate,
  observed: number,
  events: number
) =>
  tx`
    insert into sync_state (account_id, stream, high_water_ms, boundary_ids, cursor, status, last_run_at,
      last_success_at, chats_observed, events_appended, consecutive_failures, last_error, updated_at)
    values (${accountId}, ${c.stream}, ${c.highWaterMs ?? null}, ${[...(c.boundaryIds ?? [])]},
      ${JSON.stringify(c.cursor ?? {})}::text::jsonb, ${c.status ?? "running"}, now(),
      ${c.success ? new Date().toISOString() : null}::timestamptz, ${observed}, ${events}, 0, null, now())
    on conflict (account_id, stream) do update set
      high_water_ms = case when ${c.highWaterMs !== undefined} then excluded.high_water_ms else sync_state.high_water_ms end,
      boundary_ids = case when ${c.boundaryIds !== undefined} then excluded.boundary_ids else sync_state.boundary_ids end,
      cursor = case when ${c.cursor !== undefined} then excluded.cursor else sync_state.cursor end,
      status = excluded.status,
      last_run_at = now(),
      last_success_at = coalesce(excluded.last_success_at, sync_state.last_success_at),
      chats_observed = sync_state.chats_observed + excluded.chats_observed,
      events_appended = sync_state.events_appended + excluded.events_appended,
      consecutive_failures = case when ${c.success ?? false} then 0 else sync_state.consecutive_failures end,
      last_error = case when ${c.success ?? false} then null else sync_state.last_error end,
      updated_at = now()`.execute()
