import { randomUUID } from "node:crypto"
import { type Command, type CommandInput, type CommandStatus, commandChatId, stableJson } from "@cliq-mirror/core"
import { Data, Effect } from "effect"
import type postgres from "postgres"
import { Database, type DbError } from "./Database.js"
import { appendEvents } from "./EventAppend.js"
import { type ObservedChat, type PageWrite, writePage } from "./PageWrite.js"
import { toDate } from "./Timestamps.js"

export interface CommandRecord {
  readonly id: string
  readonly accountId: string
  readonly type: Command["type"]
  readonly chatId: string | null
  readonly params: Record<string, unknown>
  readonly status: CommandStatus
  readonly attempts: number
  readonly retries: number
  readonly lastError: { readonly code: string; readonly message: string } | null
  readonly result: Record<string, unknown> | null
  readonly supersededBy: string | null
  readonly eta: Date | null
  readonly intakeSeq: number
  readonly createdAt: Date
  readonly updatedAt: Date
  readonly completedAt: Date | null
}

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

const SELECT = `id, account_id, type, chat_id, payload, status, attempts, retries, last_error, result, superseded_by, eta,
  intake_seq, created_at, updated_at, completed_at`

type Row = {
  id: string
  account_id: string
  type: string
  chat_id: string | null
  payload: Record<string, unknown>
  status: string
  attempts: number
  retries: number
  last_error: { code: string; message: string } | null
  result: Record<string, unknown> | null
  superseded_by: string | null
  eta: Date | string | null
  intake_seq: string
  created_at: Date | string
  updated_at: Date | string
  completed_at: Date | string | null
}

export const toRecord = (r: Row): CommandRecord => ({
  id: r.id,
  accountId: r.account_id,
  type: r.type as Command["type"],
  chatId: r.chat_id,
  params: r.payload,
  status: r.status as CommandStatus,
  attempts: r.attempts,
  retries: r.retries,
  lastError: r.last_error,
  result: r.result,
  supersededBy: r.superseded_by,
  eta: toDate(r.eta),
  intakeSeq: Number(r.intake_seq),
  createdAt: toDate(r.created_at)!,
  updatedAt: toDate(r.updated_at)!,
  completedAt: toDate(r.completed_at)
})

/** Intake NOTIFYs this channel on commit so that the daemon's outbox relay wakes at once. */
export const OUTBOX_CHANNEL = "cliq_mirror_outbox"

const requestHash = (accountId: string, command: Command) => stableJson({ accountId, ...command })

/**
 * Intake of one or more commands, all or nothing: the command rows and their CommandRequested events commit together;
 * the rows double as the outbox (enqueued_at null) from which the relay adds the BullMQ jobs. A fixed number of
 * statements whatever the number of commands: the known idempotency keys in one lookup, the rows in one insert (in
 * input order, which `intake_seq` keeps), the events in one append.
 */
const intakeTx = async (
  tx: postgres.TransactionSql,
  inputs: ReadonlyArray<CommandInput>,
  defaultAccount: string
): Promise<Array<Accepted>> => {
  const requests = inputs.map((input, index) => {
    const accountId = input.accountId ?? defaultAccount
    return { input, index, accountId, hash: requestHash(accountId, input.command) }
  })
  const keyed = requests.filter(r => r.input.idempotencyKey !== undefined)
  const existing = new Map<string, Row & { request_hash: string }>()
  if (keyed.length > 0) {
    const rows = await tx.unsafe<Array<Row & { request_hash: string; idempotency_key: string }>>(
      `select ${SELECT}, request_hash, idempotency_key from commands
       where (account_id, idempotency_key) in (select * from unnest($1::text[], $2::text[]))`,
      [keyed.map(r => r.accountId), keyed.map(r => r.input.idempotencyKey!)]
    )
    for (const row of rows) existing.set(`${row.account_id}\u0000${row.idempotency_key}`, row)
  }

  // Each request is a replay of a stored command, of an earlier request of this batch, or a new row.
  const fresh: Array<{ id: string; request: (typeof requests)[number] }> = []
  const answers: Array<{ replayOf: Row } | { fresh: string } | { sameAs: number }> = []
  const inBatch = new Map<string, { index: number; hash: string; id: string }>()
  for (const r of requests) {
    const key = r.input.idempotencyKey
    const slot = key === undefined ? undefined : `${r.accountId}\u0000${key}`
    const stored = slot === undefined ? undefined : existing.get(slot)
    const earlier = slot === undefined ? undefined : inBatch.get(slot)
    const first = stored ? { hash: stored.request_hash, id: stored.id } : earlier
    if (first) {
      if (first.hash !== r.hash)
        throw new IdempotencyConflict({ index: r.index, idempotencyKey: key!, commandId: first.id })
      answers.push(stored ? { replayOf: stored } : { sameAs: earlier!.index })
      continue
    }
    const id = randomUUID()
    if (slot !== undefined) inBatch.set(slot, { index: r.index, hash: r.hash, id })
    fresh.push({ id, request: r })
    answers.push({ fresh: id })
  }

  const inserted = new Map<string, Row>()
  if (fresh.length > 0) {
    await tx`insert into accounts (id) select unnest(${[...new Set(fresh.map(f => f.request.accountId))]}::text[]) on conflict do nothing`
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
    const created = await tx.unsafe<Array<Row>>(
      `insert into commands (id, account_id, type, chat_id, payload, idempotency_key, request_hash)
       select id, account_id, type, chat_id, payload, idempotency_key, request_hash
       from json_to_recordset($1::text::json) as r(
         n int, id uuid, account_id text, type text, chat_id text, payload jsonb, idempotency_key text, request_hash text)
       order by n
       returning ${SELECT}`,
      [rows]
    )
    for (const row of created) inserted.set(row.id, row)
    await tx`select pg_notify(${OUTBOX_CHANNEL}, '')`
    await appendEvents(
      tx,
      fresh.map(({ id }) => {
        const r = inserted.get(id)!
        return {
          accountId: r.account_id,
          chatId: r.chat_id,
          type: "CommandRequested",
          payload: { command_id: r.id, command_type: r.type, params: r.payload },
          occurredAt: null,
          dedupeKey: `command:${r.id}:requested`
        }
      })
    )
  }
  const accepted: Array<Accepted> = []
  for (const answer of answers) {
    accepted.push(
      "replayOf" in answer
        ? { command: toRecord(answer.replayOf), replayed: true }
        : "fresh" in answer
          ? { command: toRecord(inserted.get(answer.fresh)!), replayed: false }
          : { command: accepted[answer.sameAs]!.command, replayed: true }
    )
  }
  return accepted
}

export interface CommandOutcome {
  readonly command: CommandRecord
  readonly status: "succeeded" | "failed"
  readonly result?: Record<string, unknown> | null
  readonly error?: { readonly code: string; readonly message: string }
  /** The command whose upstream call carried this one (coalescing). */
  readonly supersededBy?: string
}

/**
 * Finishes commands: their rows, CommandSucceeded/CommandFailed, the domain events of what succeeded and the
 * projection update commit in one transaction, so the mirror shows a command's effect as soon as it is known.
 */
export interface Settlement {
  readonly outcomes: ReadonlyArray<CommandOutcome>
  /** What the successful calls changed, as events derived from the mirrored state inside the transaction. */
  readonly derive?: PageWrite["derive"]
  /** Chats a call returned (create, fork). */
  readonly observed?: ReadonlyArray<ObservedChat>
}

const finishTx = async (tx: postgres.TransactionSql, accountId: string, settlement: Settlement) => {
  const { outcomes } = settlement
  for (const o of outcomes) {
    await tx`update commands set status = ${o.status}, result = ${o.result === undefined ? null : JSON.stringify(o.result)}::text::jsonb,
      last_error = ${o.error ? JSON.stringify(o.error) : null}::text::jsonb, superseded_by = ${o.supersededBy ?? null}::uuid,
      eta = null, lease_until = null, completed_at = now(), updated_at = now()
      where id = ${o.command.id}::uuid`
  }
  await writePage(tx, {
    accountId,
    derive: settlement.derive ?? [],
    observed: settlement.observed ?? [],
    extraEvents: outcomes.map(o => ({
      chatId: o.command.chatId,
      type: o.status === "succeeded" ? "CommandSucceeded" : "CommandFailed",
      payload:
        o.status === "succeeded"
          ? {
              command_id: o.command.id,
              command_type: o.command.type,
              result: o.result ?? null,
              superseded_by: o.supersededBy ?? null
            }
          : {
              command_id: o.command.id,
              command_type: o.command.type,
              code: o.error?.code ?? "failed",
              message: o.error?.message ?? ""
            },
      occurredAt: null,
      dedupeKey: `command:${o.command.id}:${o.status}:${o.command.retries}:${o.command.attempts}`
    }))
  })
}

export class CommandsRepo extends Effect.Service<CommandsRepo>()("@cliq-mirror/db/CommandsRepo", {
  effect: Effect.gen(function* () {
    const database = yield* Database

    const intake = (
      inputs: ReadonlyArray<CommandInput>,
      defaultAccount: string
    ): Effect.Effect<Array<Accepted>, DbError | IdempotencyConflict> =>
      Effect.uninterruptible(
        database.use((_, sql) => sql.begin(tx => intakeTx(tx, inputs, defaultAccount)) as Promise<Array<Accepted>>)
      ).pipe(
        Effect.catchTag(
          "DbError",
          (e): Effect.Effect<never, DbError | IdempotencyConflict> =>
            Effect.fail(e.cause instanceof IdempotencyConflict ? e.cause : e)
        ),
        // Two requests racing with one new key: the loser sees the winner's row on a second look.
        Effect.retry({
          times: 1,
          while: e => e._tag === "DbError" && (e.cause as { code?: string } | undefined)?.code === "23505"
        })
      )

    const get = (id: string) =>
      database.use(async (_, sql) => {
        const rows = await sql.unsafe<Array<Row>>(`select ${SELECT} from commands where id::text = $1`, [id])
        return rows[0] ? toRecord(rows[0]) : undefined
      })

    const many = (query: string, params: ReadonlyArray<unknown>) =>
      database.use(async (_, sql) =>
        (await sql.unsafe<Array<Row>>(query, params as Array<postgres.ParameterOrJSON<never>>)).map(toRecord)
      )

    /** An earlier command on the same chat that has not finished: this one must wait for it. */
    const predecessor = (c: CommandRecord) =>
      c.chatId === null
        ? Effect.succeed(undefined)
        : many(
            `select ${SELECT} from commands where account_id = $1 and chat_id = $2 and intake_seq < $3
             and status not in ('succeeded', 'failed') order by intake_seq limit 1`,
            [c.accountId, c.chatId, c.intakeSeq]
          ).pipe(Effect.map(rows => rows[0]))

    /** Unfinished commands of these types, oldest first: the candidates one upstream call may carry. */
    const pendingOfTypes = (accountId: string, types: ReadonlyArray<string>, limit: number) =>
      many(
        `select ${SELECT} from commands where account_id = $1 and type = any($2)
         and status in ('queued', 'waiting_rate_limit') order by intake_seq limit $3`,
        [accountId, types, limit]
      )

    /** Unfinished commands of a chat in intake order. */
    const pendingOnChat = (accountId: string, chatId: string, limit: number) =>
      many(
        `select ${SELECT} from commands where account_id = $1 and chat_id = $2
         and status not in ('succeeded', 'failed') order by intake_seq limit $3`,
        [accountId, chatId, limit]
      )

    /** Takes commands for one attempt; a command another worker holds already is left out. */
    const claim = (ids: ReadonlyArray<string>, leaseMs: number) =>
      many(
        `update commands set status = 'running', attempts = attempts + 1, eta = null, updated_at = now(),
           lease_until = now() + make_interval(secs => $2::float8 / 1000)
         where id = any($1::uuid[]) and status in ('queued', 'waiting_rate_limit') returning ${SELECT}`,
        [ids, leaseMs]
      )

    /** A running command whose worker died (lease passed): taken over, its upstream outcome unknown. */
    const reclaimStalled = (id: string, leaseMs: number) =>
      many(
        `update commands set attempts = attempts + 1, updated_at = now(),
           lease_until = now() + make_interval(secs => $2::float8 / 1000)
         where id = $1::uuid and status = 'running' and (lease_until is null or lease_until < now())
         returning ${SELECT}`,
        [id, leaseMs]
      ).pipe(Effect.map(rows => rows[0]))

    /** When the lease of a running command ends (another worker holds it until then). */
    const leaseOf = (id: string) =>
      database.use(async (_, sql) => {
        const [row] = await sql<Array<{ lease_until: Date | string | null }>>`
          select lease_until from commands where id = ${id}::uuid and status = 'running'`
        return toDate(row?.lease_until ?? null) ?? undefined
      })

    const setWaiting = (ids: ReadonlyArray<string>, eta: Date, error: { code: string; message: string } | null) =>
      database
        .use(
          (
            _,
            sql
          ) => sql`update commands set status = 'waiting_rate_limit', lease_until = null, eta = ${eta.toISOString()}::timestamptz,
          last_error = coalesce(${error === null ? null : JSON.stringify(error)}::text::jsonb, last_error), updated_at = now()
          where id = any(${ids as Array<string>}::uuid[]) and status not in ('succeeded', 'failed')`
        )
        .pipe(Effect.asVoid)

    const requeue = (ids: ReadonlyArray<string>, eta: Date | null, error: { code: string; message: string } | null) =>
      database
        .use(
          (
            _,
            sql
          ) => sql`update commands set status = 'queued', lease_until = null, eta = ${eta?.toISOString() ?? null}::timestamptz,
          last_error = coalesce(${error === null ? null : JSON.stringify(error)}::text::jsonb, last_error), updated_at = now()
          where id = any(${ids as Array<string>}::uuid[]) and status not in ('succeeded', 'failed')`
        )
        .pipe(Effect.asVoid)

    /** Unfinished and not yet handed to the queue (the outbox). */
    const unenqueued = (limit: number) =>
      many(`select ${SELECT} from commands where enqueued_at is null order by intake_seq limit $1`, [limit])

    const markEnqueued = (ids: ReadonlyArray<string>) =>
      database
        .use((_, sql) => sql`update commands set enqueued_at = now() where id = any(${ids as Array<string>}::uuid[])`)
        .pipe(Effect.asVoid)

    const finish = (accountId: string, settlement: Settlement) =>
      Effect.uninterruptible(
        database.use((_, sql) => sql.begin(tx => finishTx(tx, accountId, settlement)) as Promise<void>)
      )

    return {
      finish: Effect.fn("CommandsRepo.finish")(finish),
      intake: Effect.fn("CommandsRepo.intake")(intake),
      get: Effect.fn("CommandsRepo.get")(get),
      predecessor: Effect.fn("CommandsRepo.predecessor")(predecessor),
      pendingOfTypes: Effect.fn("CommandsRepo.pendingOfTypes")(pendingOfTypes),
      pendingOnChat: Effect.fn("CommandsRepo.pendingOnChat")(pendingOnChat),
      claim: Effect.fn("CommandsRepo.claim")(claim),
      reclaimStalled: Effect.fn("CommandsRepo.reclaimStalled")(reclaimStalled),
      leaseOf: Effect.fn("CommandsRepo.leaseOf")(leaseOf),
      setWaiting: Effect.fn("CommandsRepo.setWaiting")(setWaiting),
      requeue: Effect.fn("CommandsRepo.requeue")(requeue),
      unenqueued: Effect.fn("CommandsRepo.unenqueued")(unenqueued),
      markEnqueued: Effect.fn("CommandsRepo.markEnqueued")(markEnqueued)
    } as const
  })
}) {}
