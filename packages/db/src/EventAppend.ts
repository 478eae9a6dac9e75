import { hash } from "node:crypto"
import { DomainEvent } from "@cliq-mirror/core"
import { Schema } from "effect"
import type postgres from "postgres"

/**
 * Every append takes this transaction-scoped advisory lock right before inserting, so events commit in seq order and
 * a reader of `seq > after` can never skip a row that commits late with a lower seq.
 */
export const EVENTS_APPEND_LOCK = 727_274_002

/** A connection inside a transaction: `sql.begin`'s, or a reserved one that ran BEGIN (see MirrorWriter.inOrder). */
export type TxSql = postgres.TransactionSql | postgres.ReservedSql

interface EventPlacement {
  readonly chatId: string | null
  readonly occurredAt: Date | null
  readonly dedupeKey: string
}

/** An event of an account's page write (the page names the account). */
export type PageEvent = EventPlacement & DomainEvent
export type NewEvent = PageEvent & { readonly accountId: string }

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

/**
 * The events as one JSON array of `events` rows (event ids derived here), each an array in the column order of
 * `insertEventsSql`, which reads them positionally from a `jsonb` parameter (parsed once, payloads included).
 */
export const eventRowsJson = (events: ReadonlyArray<NewEvent>): string =>
  JSON.stringify(
    events.map(e => [
      eventIdFor(e.accountId, e.dedupeKey),
      e.accountId,
      e.chatId,
      e.type,
      e.payload,
      e.occurredAt,
      e.dedupeKey
    ])
  )

/** Inserts the rows of `eventRowsJson` passed as `param`, skipping those whose event id exists already. */
export const insertEventsSql = (param: string) => `
  insert into events (event_id, account_id, chat_id, type, payload, occurred_at, dedupe_key)
  select (r ->> 0)::uuid, r ->> 1, r ->> 2, r ->> 3, r -> 4, (r ->> 5)::timestamptz, r ->> 6
  from jsonb_array_elements(${param}::text::jsonb) r
  on conflict do nothing`

/**
 * `insertEventsSql` that takes the append lock itself, before its first row gets a seq: every row is joined with the
 * lock's one-row result, so no row reaches the insert before the lock is held. The server runs a statement only once
 * it has received all of it, so the lock is never held while the statement's (large) parameters are still on the way;
 * sent with COMMIT right behind it, it is held only for the server's own work.
 */
export const insertEventsLockedSql = (param: string) => `
  insert into events (event_id, account_id, chat_id, type, payload, occurred_at, dedupe_key)
  select (r ->> 0)::uuid, r ->> 1, r ->> 2, r ->> 3, r -> 4, (r ->> 5)::timestamptz, r ->> 6
  from (select pg_advisory_xact_lock(${EVENTS_APPEND_LOCK}) as locked offset 0) l, jsonb_array_elements(${param}::text::jsonb) r
  on conflict do nothing`

export const lockAppends = (tx: TxSql) => tx`select pg_advisory_xact_lock(${EVENTS_APPEND_LOCK})`

const encodeEvent = Schema.encodeSync(DomainEvent)

/**
 * Multi-row append; rows whose dedupe key exists already are skipped. Call inside the writing transaction, last.
 * Each event goes through its schema first (the page writer's hot path relies on the types alone).
 */
export const appendEvents = async (tx: postgres.TransactionSql, events: ReadonlyArray<NewEvent>) => {
  if (events.length === 0) return [] as Array<AppendedEvent>
  for (const e of events) encodeEvent(e)
  const inserted = await tx.unsafe<Array<{ seq: string; dedupe_key: string }>>(
    `${insertEventsLockedSql("$1")} returning seq, dedupe_key`,
    [eventRowsJson(events)]
  )
  return inserted.map(r => ({ seq: Number(r.seq), dedupeKey: r.dedupe_key }))
}
