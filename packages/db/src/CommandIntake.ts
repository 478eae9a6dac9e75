import { randomUUID } from "node:crypto"
import { type Command, type CommandInput, commandChatId, stableJson } from "@cliq-mirror/core"
import { Data } from "effect"
import type postgres from "postgres"
import { type CommandRecord, commandColumns, decodeCommandRow, fromDriver } from "./CommandRecord.js"
import { appendEvents } from "./EventAppend.js"

/** The same idempotency key with a different body. */
export class IdempotencyConflict extends Data.TaggedError("IdempotencyConflict")<{
  readonly index: number
  readonly idempotencyKey: string
  readonly commandId: string
}> {}

export interface Accepted {
  readonly command: CommandRecord
  /** True when an earlier command with the same idempotency key and body was returned instead of a new one. */
  readonly replayed: boolean
}

/**
 * Intakes take turns: each takes this transaction-scoped advisory lock right before its rows take their `intake_seq`
 * and holds it to its commit, so the numbers follow commit order. Without it a command inserted later could commit first and be claimed before an earlier command on
 * its chat was visible, which then ran after it, or beside it (docs/commands.md#intake-order).
 */
export const INTAKE_LOCK = 727_274_003

/** Intake NOTIFYs this channel on commit so that the daemon's outbox relay wakes at once. */
export const OUTBOX_CHANNEL = "cliq_mirror_outbox"

const requestHash = (accountId: string, command: Command) => stableJson({ accountId, ...command })

const record = (raw: Readonly<Record<string, unknown>>): CommandRecord => {
  const decoded = decodeCommandRow(fromDriver(raw))
  if (decoded._tag === "Left") throw decoded.left
  return decoded.right
}

type Stored = { readonly id: string; readonly record: CommandRecord; readonly hash: string }

/**
 * Intake of one or more commands, all or nothing: the command rows and their CommandRequested events commit together;
 * the rows double as the outbox (enqueued_at null) from which the relay adds the BullMQ jobs. A fixed number of
 * statements whatever the number of commands: the known idempotency keys in one lookup, the rows in one insert (in
 * input order, which `intake_seq` keeps, under `INTAKE_LOCK`), the events in one append.
 */
export const intakeTx = async (
  tx: postgres.TransactionSql,
  inputs: ReadonlyArray<CommandInput>,
  defaultAccount: string
): Promise<Array<Accepted>> => {
  const requests = inputs.map((input, index) => {
    const accountId = input.accountId ?? defaultAccount
    return { input, index, accountId, hash: requestHash(accountId, input.command) }
  })
  const keyed = requests.filter(r => r.input.idempotencyKey !== undefined)
  const slotOf = (accountId: string, key: string) => `${accountId}\u0000${key}`
  const existing = new Map<string, Stored>()
  if (keyed.length > 0) {
    const rows = await tx.unsafe<Array<Record<string, unknown> & { request_hash: string; idempotency_key: string }>>(
      `select ${commandColumns}, request_hash, idempotency_key from commands
       where (account_id, idempotency_key) in (select * from unnest($1::text[], $2::text[]))`,
      [keyed.map(r => r.accountId), keyed.map(r => r.input.idempotencyKey!)]
    )
    for (const row of rows) {
      const stored = record(row)
      existing.set(slotOf(stored.accountId, row.idempotency_key), {
        id: stored.id,
        record: stored,
        hash: row.request_hash
      })
    }
  }

  // Each request is a replay of a stored command, of an earlier request of this batch, or a new row.
  const fresh: Array<{ id: string; request: (typeof requests)[number] }> = []
  const answers: Array<{ replayOf: CommandRecord } | { fresh: string } | { sameAs: number }> = []
  const inBatch = new Map<string, { index: number; hash: string; id: string }>()
  for (const r of requests) {
    const key = r.input.idempotencyKey
    const slot = key === undefined ? undefined : slotOf(r.accountId, key)
    const stored = slot === undefined ? undefined : existing.get(slot)
    const earlier = slot === undefined ? undefined : inBatch.get(slot)
    const first = stored ?? earlier
    if (first) {
      if (first.hash !== r.hash)
        throw new IdempotencyConflict({ index: r.index, idempotencyKey: key!, commandId: first.id })
      answers.push(stored ? { replayOf: stored.record } : { sameAs: earlier!.index })
      continue
    }
    const id = randomUUID()
    if (slot !== undefined) inBatch.set(slot, { index: r.index, hash: r.hash, id })
    fresh.push({ id, request: r })
    answers.push({ fresh: id })
  }

  const inserted = new Map<string, CommandRecord>()
  if (fresh.length > 0) {
    const rows = JSON.stringify(
      fresh.map(({ id, request: r }, n) => ({
        n,
        id,
        account_id: r.accountId,
        type: r.input.command.type,
        chat_id: commandChatId(r.input.command),
        payload: r.input.command.params,
        idempotency_key: r.input.idempotencyKey ?? null,
        request_hash: r.hash
      }))
    )
    // Held to the commit: the rows take their numbers only after every intake that took its numbers first committed.
    await tx`select pg_advisory_xact_lock(${INTAKE_LOCK})`
    await tx`insert into accounts (id) select unnest(${[...new Set(fresh.map(f => f.request.accountId))]}::text[]) on conflict do nothing`
    const created = await tx.unsafe<Array<Record<string, unknown>>>(
      `insert into commands (id, account_id, type, chat_id, payload, idempotency_key, request_hash)
       select id, account_id, type, chat_id, payload, idempotency_key, request_hash
       from json_to_recordset($1::text::json) as r(
         n int, id uuid, account_id text, type text, chat_id text, payload jsonb, idempotency_key text, request_hash text)
       order by n
       returning ${commandColumns}`,
      [rows]
    )
    for (const row of created) {
      const made = record(row)
      inserted.set(made.id, made)
    }
    await tx`select pg_notify(${OUTBOX_CHANNEL}, '')`
    await appendEvents(
      tx,
      fresh.map(({ id, request }) => ({
        accountId: request.accountId,
        chatId: commandChatId(request.input.command),
        type: "CommandRequested",
        payload: { command_id: id, command_type: request.input.command.type, params: request.input.command.params },
        occurredAt: null,
        dedupeKey: `command:${id}:requested`
      }))
    )
  }
  const accepted: Array<Accepted> = []
  for (const answer of answers) {
    accepted.push(
      "replayOf" in answer
        ? { command: answer.replayOf, replayed: true }
        : "fresh" in answer
          ? { command: inserted.get(answer.fresh)!, replayed: false }
          : { command: accepted[answer.sameAs]!.command, replayed: true }
    )
  }
  return accepted
}
