import { hash } from "node:crypto"
import type postgres from "postgres"

/**
 * Every append takes this transaction-scoped advisory lock right before inserting, so events commit in seq order and
 * a reader of `seq > after` can never skip a row that commits late with a lower seq.
 */
export const EVENTS_APPEND_LOCK = 727_274_002

/** A connection inside a transaction: `sql.begin`'s, or a reserved one that ran BEGIN (see MirrorWriter.inOrder). */
export type TxSql = postgres.TransactionSql | postgres.ReservedSql

export interface NewEvent {
  readonly accountId: string
  readonly chatId: string | null
  readonly type: string
  readonly payload: unknown
  readonly occurredAt: Date | null
  readonly dedupeKey: string
}

/** Deterministic: the same upstream change observed twice maps to the same event id (and the same dedupe key). */
export const eventIdFor = (accountId: string, dedupeKey: string): string => {
  const h = hash("sha1", `${accountId}\u0000${dedupeKey}`, "buffer")
  h[6] = (h[6]! & 0x0f) | 0x50
  h[8] = (h[8]! & 0x3f) | 0x80
  const hex = h.subarray(0, 16).toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

export interface AppendedEvent {
  readonly seq: number
  readonly dedupeKey: string
}

/** The events as one JSON array of `events` rows (event ids derived here), for `insertEventsSql`. */
export const eventRowsJson = (events: ReadonlyArray<NewEvent>): string =>
  JSON.stringify(
    events.map(e => ({
      event_id: eventIdFor(e.accountId, e.dedupeKey),
      account_id: e.accountId,
      chat_id: e.chatId,
      type: e.type,
      payload: e.payload,
      occurred_at: e.occurredAt,
      dedupe_key: e.dedupeKey
    }))
  )

/** Inserts the rows of `eventRowsJson` passed as `param`, skipping those whose event id exists already. */
export const insertEventsSql = (param: string) => `
  insert into events (event_id, account_id, chat_id, type, payload, occurred_at, dedupe_key)
  select event_id, account_id, chat_id, type, payload, occurred_at, dedupe_key
  from json_to_recordset(${param}::text::json) as r(
    event_id uuid, account_id text, chat_id text, type text, payload jsonb, occurred_at timestamptz, dedupe_key text)
  on conflict do nothing`

export const lockAppends = (tx: TxSql) => tx`select pg_advisory_xact_lock(${EVENTS_APPEND_LOCK})`

/** Multi-row append; rows whose dedupe key exists already are skipped. Call inside the writing transaction, last. */
export const appendEvents = async (tx: postgres.TransactionSql, events: ReadonlyArray<NewEvent>) => {
  if (events.length === 0) return [] as Array<AppendedEvent>
  await lockAppends(tx)
  const inserted = await tx.unsafe<Array<{ seq: string; dedupe_key: string }>>(
    `${insertEventsSql("$1")} returning seq, dedupe_key`,
    [eventRowsJson(events)]
  )
  return inserted.map(r => ({ seq: Number(r.seq), dedupeKey: r.dedupe_key }))
}
