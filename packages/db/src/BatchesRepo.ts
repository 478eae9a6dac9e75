import { randomUUID } from "node:crypto"
import { type CommandInput, type CommandStatus, stableJson } from "@cliq-mirror/core"
import { and, count, desc, sql as dsql, type SQL } from "drizzle-orm"
import { Data, Effect, Either, Predicate } from "effect"
import type postgres from "postgres"
import { type ChatFilters, chatColumns, filterConditions } from "./ChatsQuery.js"
import { IdempotencyConflict, intakeTx, OUTBOX_CHANNEL } from "./CommandIntake.js"
import { type CommandRecord, commandColumns, decodeCommandRow, fromDriver } from "./CommandRecord.js"
import { type RetryOutcome, retryTx } from "./CommandsQuery.js"
import { Database } from "./Database.js"
import { appendEvents } from "./EventAppend.js"
import { chats } from "./schema.js"

/** The most chats one bulk request may act on. */
export const MAX_BATCH_CHATS = 100_000

/** More chats match than a batch takes. */
export class BatchTooLarge extends Data.TaggedError("BatchTooLarge")<{ readonly matched: number }> {}

/** A chat a bulk request acts on, with what the command needs of the mirror. */
export interface BulkTarget {
  readonly accountId: string
  readonly chatId: string
  readonly lastMessageId: string | null
}

export interface BulkMatch {
  /** Matching chats per account (the upstream calls and the budget are per account). */
  readonly perAccount: ReadonlyMap<string, number>
  readonly matched: number
}

export interface NewBatch {
  readonly type: string
  /** Scope of the idempotency key: the request's account, else the default one. */
  readonly accountId: string
  readonly idempotencyKey: string | undefined
  readonly request: Readonly<Record<string, unknown>>
  readonly filters: ChatFilters
  readonly needsLastMessage: boolean
  readonly commandsOf: (targets: ReadonlyArray<BulkTarget>) => ReadonlyArray<CommandInput>
  readonly defaultAccount: string
}

export interface BatchRow {
  readonly id: string
  readonly accountId: string
  readonly type: string
  readonly matched: number
  readonly createdAt: Date
}

export interface BatchCreated {
  readonly batch: BatchRow
  readonly replayed: boolean
}

export interface BatchState {
  readonly batch: BatchRow
  readonly counts: Readonly<Record<string, number>>
  readonly failures: ReadonlyArray<CommandRecord>
  /** The last of its commands still queued (its eta is the batch's). */
  readonly lastQueued: CommandRecord | undefined
}

export type CancelOutcome =
  | { readonly _tag: "Cancelled"; readonly command: CommandRecord }
  | { readonly _tag: "NotCancellable"; readonly status: CommandStatus }
  | { readonly _tag: "Missing" }

type Raw = Record<string, unknown>

const record = (raw: Raw): CommandRecord => {
  const decoded = decodeCommandRow(fromDriver(raw))
  if (Either.isLeft(decoded)) throw decoded.left
  return decoded.right
}

const NOT_STARTED = `('queued', 'waiting_rate_limit', 'waiting_reauth')`

const batchOf = (row: {
  id: string
  account_id: string
  type: string
  matched: number
  created_at: Date | string
}): BatchRow => ({
  id: row.id,
  accountId: row.account_id,
  type: row.type,
  matched: row.matched,
  createdAt: new Date(row.created_at)
})

const conditionsOf = (filters: ChatFilters, needsLastMessage: boolean): SQL | undefined =>
  and(
    ...filterConditions(filters),
    needsLastMessage ? dsql`${chats.lastMessageInfo} ->> 'message_id' is not null` : undefined
  )

/** Cancels what has not started: the rows and a CommandCancelled event each, in the caller's transaction. */
const cancelTx = async (tx: postgres.TransactionSql, where: string, params: Array<string>) => {
  const rows = await tx.unsafe<Array<Raw>>(
    `update commands set status = 'cancelled', completed_at = now(), updated_at = now(), eta = null
     where ${where} and status in ${NOT_STARTED}
     returning ${commandColumns}`,
    params
  )
  const cancelled = rows.map(record)
  if (cancelled.length > 0) {
    await appendEvents(
      tx,
      cancelled.map(c => ({
        accountId: c.accountId,
        chatId: c.chatId,
        type: "CommandCancelled" as const,
        payload: { command_id: c.id, command_type: c.type, batch_id: c.batchId },
        occurredAt: null,
        dedupeKey: `command:${c.id}:cancelled`
      }))
    )
  }
  return cancelled
}

/** Bulk requests: the chats a query matches, batches of commands over them, their state, cancel and retry. */
export class BatchesRepo extends Effect.Service<BatchesRepo>()("@cliq-mirror/db/BatchesRepo", {
  effect: Effect.gen(function* () {
    const database = yield* Database

    const match = Effect.fn("BatchesRepo.match")(function* (filters: ChatFilters, needsLastMessage: boolean) {
      const rows = yield* database.use(db =>
        db
          .select({ accountId: chats.accountId, n: count() })
          .from(chats)
          .where(conditionsOf(filters, needsLastMessage))
          .groupBy(chats.accountId)
      )
      return {
        perAccount: new Map(rows.map(r => [r.accountId, r.n])),
        matched: rows.reduce((sum, r) => sum + r.n, 0)
      } satisfies BulkMatch
    })

    const createTx = async (tx: postgres.TransactionSql, db: Database["db"], input: NewBatch) => {
      const hash = stableJson({ accountId: input.accountId, ...input.request })
      if (input.idempotencyKey !== undefined) {
        const [existing] = await tx<Array<Parameters<typeof batchOf>[0] & { request_hash: string }>>`
          select id, account_id, type, matched, created_at, request_hash from batches
          where account_id = ${input.accountId} and idempotency_key = ${input.idempotencyKey}`
        if (existing) {
          if (existing.request_hash !== hash) {
            throw new IdempotencyConflict({ index: 0, idempotencyKey: input.idempotencyKey, commandId: existing.id })
          }
          return { batch: batchOf(existing), replayed: true } satisfies BatchCreated
        }
      }
      const query = db
        .select({
          accountId: chats.accountId,
          chatId: chats.chatId,
          lastMessageId: dsql<string | null>`${chats.lastMessageInfo} ->> 'message_id'`.as("last_message_id")
        })
        .from(chats)
        .where(conditionsOf(input.filters, input.needsLastMessage))
        .orderBy(chats.accountId, chats.chatId)
        .limit(MAX_BATCH_CHATS + 1)
        .toSQL()
      const rows = await tx.unsafe<Array<{ account_id: string; chat_id: string; last_message_id: string | null }>>(
        query.sql,
        query.params as Array<never>
      )
      const targets: Array<BulkTarget> = rows.map(r => ({
        accountId: r.account_id,
        chatId: r.chat_id,
        lastMessageId: r.last_message_id
      }))
      if (targets.length > MAX_BATCH_CHATS) throw new BatchTooLarge({ matched: targets.length })
      const id = randomUUID()
      const [created] = await tx<Array<Parameters<typeof batchOf>[0]>>`
        insert into batches (id, account_id, type, request, idempotency_key, request_hash, matched)
        values (${id}, ${input.accountId}, ${input.type}, ${JSON.stringify(input.request)}::jsonb,
          ${input.idempotencyKey ?? null}, ${hash}, ${targets.length})
        returning id, account_id, type, matched, created_at`
      const accepted = await intakeTx(tx, input.commandsOf(targets), input.defaultAccount)
      if (accepted.length > 0) {
        await tx`update commands set batch_id = ${id}
          where id = any(${accepted.map(a => a.command.id)}::uuid[])`
      }
      return { batch: batchOf(created!), replayed: false } satisfies BatchCreated
    }

    /**
     * Every command of the batch in one transaction, with the batch row; the same key and body answer the first. Two
     * requests racing with one new key: the loser's insert fails on the key's unique index, and a second look finds the
     * winner's batch (a replay, or a conflict when the bodies differ).
     */
    const create = (input: NewBatch) =>
      database
        .use((db, sql) =>
          sql
            .begin(tx => createTx(tx, db, input))
            .then(
              created => Either.right(created),
              (e: unknown) =>
                e instanceof BatchTooLarge || e instanceof IdempotencyConflict ? Either.left(e) : Promise.reject(e)
            )
        )
        .pipe(
          Effect.retry({
            times: 1,
            while: e =>
              input.idempotencyKey !== undefined && Predicate.hasProperty(e.cause, "code") && e.cause.code === "23505"
          }),
          Effect.flatten
        )

    const get = Effect.fn("BatchesRepo.get")(function* (id: string) {
      return yield* database.use(async (_, sql) => {
        const [batch] = await sql<Array<Parameters<typeof batchOf>[0]>>`
          select id, account_id, type, matched, created_at from batches where id = ${id}::uuid`
        if (!batch) return undefined
        const counts = await sql<Array<{ status: string; n: number }>>`
          select status, count(*)::int as n from commands where batch_id = ${id}::uuid group by status`
        const failures = await sql.unsafe<Array<Raw>>(
          `select ${commandColumns} from commands where batch_id = $1::uuid and status = 'failed'
           order by intake_seq limit 20`,
          [id]
        )
        const [lastQueued] = await sql.unsafe<Array<Raw>>(
          `select ${commandColumns} from commands where batch_id = $1::uuid and status = 'queued'
           order by intake_seq desc limit 1`,
          [id]
        )
        return {
          batch: batchOf(batch),
          counts: Object.fromEntries(counts.map(c => [c.status, c.n])),
          failures: failures.map(record),
          lastQueued: lastQueued === undefined ? undefined : record(lastQueued)
        } satisfies BatchState
      })
    })

    const exists = (tx: postgres.TransactionSql, id: string) =>
      tx<Array<{ id: string }>>`select id from batches where id = ${id}::uuid`.then(rows => rows.length > 0)

    /** Cancels the batch's commands that have not started; undefined when there is no such batch. */
    const cancelBatch = (id: string) =>
      Effect.uninterruptible(
        database.use((_, sql) =>
          sql.begin(async tx =>
            (await exists(tx, id)) ? (await cancelTx(tx, "batch_id = $1::uuid", [id])).length : undefined
          )
        )
      )

    const cancelCommand = (id: string) =>
      Effect.uninterruptible(
        database.use((_, sql) =>
          sql.begin(async tx => {
            const [command] = await cancelTx(tx, "id = $1::uuid", [id])
            if (command) return { _tag: "Cancelled", command } satisfies CancelOutcome
            const [current] = await tx<Array<{ status: CommandStatus }>>`
                select status from commands where id = ${id}::uuid`
            return current
              ? ({ _tag: "NotCancellable", status: current.status } satisfies CancelOutcome)
              : ({ _tag: "Missing" } satisfies CancelOutcome)
          })
        )
      )

    /** Puts every failed command of the batch back; undefined when there is no such batch. */
    const retryBatch = (id: string) =>
      Effect.uninterruptible(
        database.use((_, sql) =>
          sql.begin(async tx => {
            if (!(await exists(tx, id))) return undefined
            const failed = await tx<Array<{ id: string }>>`
              select id from commands where batch_id = ${id}::uuid and status = 'failed' order by intake_seq`
            let retried = 0
            for (const f of failed) {
              const outcome: RetryOutcome = await retryTx(tx, f.id)
              if (outcome._tag === "Retried") retried++
            }
            if (retried > 0) await tx`select pg_notify(${OUTBOX_CHANNEL}, '')`
            return retried
          })
        )
      )

    /** The most recently modified of the chats a request matches. */
    const sample = Effect.fn("BatchesRepo.sample")(function* (
      filters: ChatFilters,
      needsLastMessage: boolean,
      limit: number
    ) {
      return yield* database.use(db =>
        db
          .select(chatColumns)
          .from(chats)
          .where(conditionsOf(filters, needsLastMessage))
          .orderBy(dsql`${chats.lastModifiedTime} desc nulls last`, desc(chats.chatId))
          .limit(limit)
      )
    })

    /** Commands of these accounts and types still waiting for their call (ahead of anything taken in now). */
    const pending = Effect.fn("BatchesRepo.pending")(function* (
      accountIds: ReadonlyArray<string>,
      types: ReadonlyArray<string>
    ) {
      const [row] = yield* database.use(
        (_, sql) => sql<Array<{ n: number }>>`
          select count(*)::int as n from commands
          where account_id = any(${[...accountIds]}::text[]) and type = any(${[...types]}::text[])
            and status in ('queued', 'waiting_rate_limit')`
      )
      return row?.n ?? 0
    })

    return {
      match,
      sample,
      pending,
      create,
      get,
      cancelBatch: Effect.fn("BatchesRepo.cancelBatch")(cancelBatch),
      cancelCommand: Effect.fn("BatchesRepo.cancelCommand")(cancelCommand),
      retryBatch: Effect.fn("BatchesRepo.retryBatch")(retryBatch)
    } as const
  }),
  dependencies: [Database.Default]
}) {}
