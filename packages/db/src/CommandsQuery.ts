import type { CommandStatus } from "@cliq-mirror/core"
import { Effect, Either, Option } from "effect"
import type postgres from "postgres"
import { OUTBOX_CHANNEL } from "./CommandIntake.js"
import { type CommandRecord, commandColumns, decodeCommandRow, fromDriver } from "./CommandRecord.js"
import { Database, DbError } from "./Database.js"
import { appendEvents } from "./EventAppend.js"

type Raw = Record<string, unknown>

/** Rows the API shows: one that does not decode is an internal error naming its row and field. */
const record = (raw: Raw): CommandRecord => {
  const decoded = decodeCommandRow(fromDriver(raw))
  if (Either.isLeft(decoded)) throw decoded.left
  return decoded.right
}

/** A timestamp to the microsecond, so that a cursor compares exactly with the column (a JS Date has milliseconds). */
const micros = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

export interface CommandFilters {
  readonly statuses?: ReadonlyArray<CommandStatus> | undefined
  readonly types?: ReadonlyArray<string> | undefined
  readonly accountId?: string | undefined
  readonly batchId?: string | undefined
  readonly chatId?: string | undefined
  readonly createdAfter?: Date | undefined
  readonly createdBefore?: Date | undefined
}

/** Newest first: created_at descending, then id descending. */
export interface CommandSortKey {
  readonly createdAt: string
  readonly id: string
}

export interface CommandListRequest {
  readonly filters: CommandFilters
  readonly limit: number
  readonly after?: CommandSortKey | undefined
}

export interface CommandListPage {
  readonly rows: ReadonlyArray<CommandRecord>
  readonly next: Option.Option<CommandSortKey>
}

/** Commands of one rate bucket: those of `accountIds` whose type is one of `types`. */
export interface AheadRequest {
  readonly accountIds: ReadonlyArray<string>
  readonly types: ReadonlyArray<string>
  readonly commandIds: ReadonlyArray<string>
}

export type RetryOutcome =
  | { readonly _tag: "Retried"; readonly command: CommandRecord }
  | { readonly _tag: "NotRetryable"; readonly status: CommandStatus }
  | { readonly _tag: "Missing" }

/**
 * A failed command back into the queue, in one transaction: the row (attempts from zero, enqueued_at null so the
 * outbox relay adds its job again), a CommandRetried event and the NOTIFY that wakes the relay. last_error stays
 * until the next attempt replaces it: it is the failure being retried (an `outcome_unknown` there makes the worker
 * verify before sending a non-idempotent call again). Each retry counts in `retries`, which keys its events.
 */
export const retryTx = async (tx: postgres.TransactionSql, id: string): Promise<RetryOutcome> => {
  const [row] = await tx.unsafe<Array<Raw & { previous_attempts: number; failed_at: string }>>(
    `with prev as (
       select id as prev_id, attempts as previous_attempts, ${micros("completed_at")} as failed_at
       from commands where id = $1::uuid and status = 'failed' for update
     )
     update commands set status = 'queued', attempts = 0, retries = retries + 1, claims = claims + 1, completed_at = null, eta = null, lease_until = null,
       superseded_by = null, result = null, enqueued_at = null, updated_at = now()
     from prev where id = prev.prev_id
     returning ${commandColumns}, previous_attempts, failed_at`,
    [id]
  )
  if (!row) {
    const [current] = await tx<Array<{ status: CommandStatus }>>`select status from commands where id = ${id}::uuid`
    return current ? { _tag: "NotRetryable", status: current.status } : { _tag: "Missing" }
  }
  const command = record(row)
  await tx`select pg_notify(${OUTBOX_CHANNEL}, '')`
  await appendEvents(tx, [
    {
      accountId: command.accountId,
      chatId: command.chatId,
      type: "CommandRetried",
      payload: {
        command_id: command.id,
        command_type: command.type,
        previous_attempts: row.previous_attempts,
        last_error: command.lastError
      },
      occurredAt: null,
      dedupeKey: `command:${command.id}:retried:${command.retries}`
    }
  ])
  return { _tag: "Retried", command }
}

/** The read side of commands for the API (listing, queue position) plus the operator's retry. */
export class CommandsQuery extends Effect.Service<CommandsQuery>()("@cliq-mirror/db/CommandsQuery", {
  effect: Effect.gen(function* () {
    const database = yield* Database

    const list = Effect.fn("CommandsQuery.list")(function* (request: CommandListRequest) {
      const { filters, after } = request
      const params: Array<postgres.ParameterOrJSON<never>> = []
      const bind = (value: postgres.ParameterOrJSON<never>) => {
        params.push(value)
        return `$${params.length}`
      }
      const where: Array<string> = []
      if (filters.statuses !== undefined) where.push(`status = any(${bind([...filters.statuses])}::text[])`)
      if (filters.types !== undefined) where.push(`type = any(${bind([...filters.types])}::text[])`)
      if (filters.accountId !== undefined) where.push(`account_id = ${bind(filters.accountId)}`)
      if (filters.batchId !== undefined)
        where.push(`batch_id = ${bind(filters.batchId)}::uuid and batch_id is not null`)
      if (filters.chatId !== undefined) where.push(`chat_id = ${bind(filters.chatId)} and chat_id is not null`)
      if (filters.createdAfter !== undefined) {
        where.push(`created_at > ${bind(filters.createdAfter.toISOString())}::timestamptz`)
      }
      if (filters.createdBefore !== undefined) {
        where.push(`created_at < ${bind(filters.createdBefore.toISOString())}::timestamptz`)
      }
      if (after !== undefined) {
        where.push(`(created_at, id) < (${bind(after.createdAt)}::timestamptz, ${bind(after.id)}::uuid)`)
      }
      const rows = yield* database.use((_, sql) =>
        sql.unsafe<Array<Raw & { created_key: string }>>(
          `select ${commandColumns}, ${micros("created_at")} as created_key from commands
           ${where.length === 0 ? "" : `where ${where.join(" and ")}`}
           order by created_at desc, id desc limit ${bind(request.limit + 1)}`,
          params
        )
      )
      const page = rows.slice(0, request.limit)
      const last = page[page.length - 1]
      const records = yield* Effect.try({ try: () => page.map(record), catch: cause => new DbError({ cause }) })
      return {
        rows: records,
        next:
          rows.length > request.limit && last !== undefined
            ? Option.some({ createdAt: last.created_key, id: records[records.length - 1]!.id })
            : Option.none()
      } satisfies CommandListPage
    })

    /**
     * For each given command still waiting for its call (queued or waiting_rate_limit): how many commands of the same
     * bucket, also waiting, were taken in before it (lower intake_seq). Running ones hold their slot already.
     */
    const ahead = Effect.fn("CommandsQuery.ahead")(function* (request: AheadRequest) {
      const rows = yield* database.use(
        (_, sql) => sql<Array<{ id: string; ahead: number }>>`
          select id, ahead::int from (
            select id, count(*) over (order by intake_seq rows between unbounded preceding and 1 preceding) as ahead
            from commands
            where account_id = any(${[...request.accountIds]}::text[])
              and type = any(${[...request.types]}::text[])
              and status in ('queued', 'waiting_rate_limit')
              and intake_seq <= (select max(intake_seq) from commands where id = any(${[...request.commandIds]}::uuid[]))
          ) w
          where id = any(${[...request.commandIds]}::uuid[])`
      )
      return new Map(rows.map(r => [r.id, r.ahead]))
    })

    const retry = (id: string) => Effect.uninterruptible(database.use((_, sql) => sql.begin(tx => retryTx(tx, id))))

    return { list, ahead, retry: Effect.fn("CommandsQuery.retry")(retry) } as const
  }),
  dependencies: [Database.Default]
}) {}
