import { type CommandInput, type ErrorInfo, FINAL_STATUSES } from "@cliq-mirror/core"
import { and, asc, eq, gt, inArray, isNotNull, isNull, lt, notInArray, or, type SQL, sql } from "drizzle-orm"
import { Effect, Predicate } from "effect"
import type postgres from "postgres"
import { type Accepted, IdempotencyConflict, intakeTx } from "./CommandIntake.js"
import { type CommandRecord, type CommandRowInvalid, decodeCommandRows, isCommandId } from "./CommandRecord.js"
import { Database, DbError } from "./Database.js"
import { type ObservedChat, type PageWrite, writePage } from "./PageWrite.js"
import { commands } from "./schema.js"

export * from "./CommandIntake.js"
export * from "./CommandRecord.js"

export interface CommandOutcome {
  readonly command: CommandRecord
  readonly status: "succeeded" | "failed"
  readonly result?: Record<string, unknown> | null
  readonly error?: ErrorInfo
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

/**
 * Which commands a park may change: `running`, those the parking attempt claimed; `waiting`, those it read but holds
 * no claim on. A waiting command that another attempt claimed since it was read is running in that attempt's call:
 * parking it would put it back to be claimed and sent a second time (docs/commands.md, "Decisions").
 */
export type Held = "running" | "waiting"

/**
 * What an attempt holds of a command: the row as it read or claimed it. `claims` is its claim token: every claim and
 * takeover and every operator retry counts one, and nothing gives one back (unlike `attempts`, which a wait that is not
 * the command's fault refunds), so a row still showing the count an attempt read is one no other attempt has touched
 * since. Writes of an attempt (park, lease renewal, settlement) change only rows that still show it: an attempt whose
 * lease passed while it lived (renewals failing) cannot park or settle over the attempt that took the command over
 * (docs/commands.md, "Decisions").
 */
export type Claim = Pick<CommandRecord, "id" | "claims">

/** How a command waits: its status, when it is due, and what the last attempt left behind. */
export interface Parking {
  readonly from: Held
  readonly status: "queued" | "waiting_rate_limit" | "waiting_reauth"
  readonly eta: Date | null
  /** Null keeps the last error. */
  readonly error: ErrorInfo | null
  readonly needsCheck?: boolean
  /** Gives back the attempt the claim counted (a wait that is not the command's fault). */
  readonly refundAttempt?: boolean
}

const FINAL = [...FINAL_STATUSES]
const unfinished = notInArray(commands.status, FINAL)
const WAITING = ["queued", "waiting_rate_limit", "waiting_reauth"]
/** Rows read to plan one coalesced call. */
const CANDIDATES = 1_000

/** Unfinished commands acting on `chatId`: those naming it, and the clear_unread commands listing it. */
const onChat = (chatId: string): SQL =>
  or(
    eq(commands.chatId, chatId),
    and(eq(commands.type, "clear_unread"), sql`(${commands.payload} -> 'chat_ids') ? ${chatId}`)
  )!

const onAnyChat = (chatIds: ReadonlyArray<string>): SQL =>
  or(
    inArray(commands.chatId, [...chatIds]),
    and(
      eq(commands.type, "clear_unread"),
      sql`(${commands.payload} -> 'chat_ids') ?| array[${sql.join(
        chatIds.map(id => sql`${id}`),
        sql`, `
      )}]::text[]`
    )
  )!

/** Rows that still show these claims (see `Claim`). */
const stillHeld = (claims: ReadonlyArray<Claim>): SQL =>
  sql`(${commands.id}, ${commands.claims}) in (${sql.join(
    claims.map(c => sql`(${c.id}::uuid, ${c.claims}::int)`),
    sql`, `
  )})`

/** Settles what the attempt still holds; returns the outcomes it settled (one taken over is left to its new holder). */
const finishTx = async (tx: postgres.TransactionSql, accountId: string, settlement: Settlement) => {
  // One statement for every command of the call (a coalesced call settles up to a hundred): keys left out are NULL.
  const rows = settlement.outcomes.map(o => ({
    id: o.command.id,
    claims: o.command.claims,
    status: o.status,
    ...(o.result === undefined || o.result === null ? {} : { result: o.result }),
    ...(o.error ? { last_error: o.error } : {}),
    ...(o.supersededBy === undefined ? {} : { superseded_by: o.supersededBy })
  }))
  const settled =
    rows.length === 0
      ? []
      : await tx<Array<{ id: string }>>`update commands c set status = v.status, result = v.result,
          last_error = v.last_error, superseded_by = v.superseded_by, eta = null, lease_until = null,
          needs_check = false, completed_at = now(), updated_at = now()
          from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb)
            as v(id uuid, claims int, status text, result jsonb, last_error jsonb, superseded_by uuid)
          where c.id = v.id and c.claims = v.claims
            and c.status not in ('succeeded', 'failed', 'cancelled')
          returning c.id`
  const ids = new Set(settled.map(r => r.id))
  const outcomes = settlement.outcomes.filter(o => ids.has(o.command.id))
  // What the call changed upstream is recorded whoever settles the commands: it happened.
  await writePage(tx, {
    accountId,
    derive: settlement.derive ?? [],
    observed: settlement.observed ?? [],
    extraEvents: outcomes.map(o => ({
      chatId: o.command.chatId,
      ...(o.status === "succeeded"
        ? {
            type: "CommandSucceeded" as const,
            payload: {
              command_id: o.command.id,
              command_type: o.command.type,
              result: o.result ?? null,
              superseded_by: o.supersededBy ?? null
            }
          }
        : {
            type: "CommandFailed" as const,
            payload: {
              command_id: o.command.id,
              command_type: o.command.type,
              code: o.error?.code ?? "failed",
              message: o.error?.message ?? ""
            }
          }),
      occurredAt: null,
      dedupeKey: `command:${o.command.id}:${o.status}:${o.command.retries}:${o.command.attempts}`
    }))
  })
  return outcomes
}

/** A deadlock or serialization failure: the transaction rolled back and may simply run again. */
const isSerializationFailure = (e: DbError) =>
  Predicate.hasProperty(e.cause, "code") && (e.cause.code === "40P01" || e.cause.code === "40001")

/** A decode failure of a row the API only shows: an internal error there (the cause says which row and field). */
const asDbError = <A, R>(effect: Effect.Effect<A, DbError | CommandRowInvalid, R>): Effect.Effect<A, DbError, R> =>
  Effect.mapError(effect, e => (e._tag === "DbError" ? e : new DbError({ cause: e })))

export class CommandsRepo extends Effect.Service<CommandsRepo>()("@cliq-mirror/db/CommandsRepo", {
  effect: Effect.gen(function* () {
    const database = yield* Database
    const select = (where: SQL | undefined, limit: number) =>
      database
        .use(db => db.select().from(commands).where(where).orderBy(asc(commands.intakeSeq)).limit(limit))
        .pipe(Effect.flatMap(decodeCommandRows))

    const intake = (
      inputs: ReadonlyArray<CommandInput>,
      defaultAccount: string
    ): Effect.Effect<Array<Accepted>, DbError | IdempotencyConflict> =>
      Effect.uninterruptible(database.use((_, sql) => sql.begin(tx => intakeTx(tx, inputs, defaultAccount)))).pipe(
        Effect.catchTag(
          "DbError",
          (e): Effect.Effect<never, DbError | IdempotencyConflict> =>
            Effect.fail(e.cause instanceof IdempotencyConflict ? e.cause : e)
        ),
        // Two requests racing with one new key: the loser sees the winner's row on a second look.
        Effect.retry({
          times: 1,
          while: e => e._tag === "DbError" && Predicate.hasProperty(e.cause, "code") && e.cause.code === "23505"
        })
      )

    /** By id (primary key); a malformed id is not found. */
    const load = (id: string) =>
      isCommandId(id)
        ? select(eq(commands.id, id.toLowerCase()), 1).pipe(Effect.map(rows => rows[0]))
        : Effect.succeed(undefined)

    /** Whether an earlier command on one of these chats is unfinished: this one must wait for it. */
    const hasPredecessor = (accountId: string, chatIds: ReadonlyArray<string>, intakeSeq: number) =>
      chatIds.length === 0
        ? Effect.succeed(false)
        : database
            .use(db =>
              db
                .select({ id: commands.id })
                .from(commands)
                .where(
                  and(
                    eq(commands.accountId, accountId),
                    lt(commands.intakeSeq, intakeSeq),
                    unfinished,
                    onAnyChat(chatIds)
                  )
                )
                .limit(1)
            )
            .pipe(Effect.map(rows => rows.length > 0))

    /** Unfinished commands of these types, oldest first: the candidates one upstream call may carry. */
    const pendingOfTypes = (accountId: string, types: ReadonlyArray<string>, limit: number) =>
      select(
        and(
          eq(commands.accountId, accountId),
          inArray(commands.type, [...types]),
          inArray(commands.status, ["queued", "waiting_rate_limit"])
        ),
        limit
      )

    /** The chats of waiting commands of one single-chat type, by their first such command (no row is decoded). */
    const pendingChatsOfType = (accountId: string, type: string, limit: number) =>
      database
        .use(db =>
          db
            .select({ chatId: commands.chatId })
            .from(commands)
            .where(
              and(
                eq(commands.accountId, accountId),
                eq(commands.type, type),
                inArray(commands.status, ["queued", "waiting_rate_limit"]),
                isNotNull(commands.chatId)
              )
            )
            .groupBy(commands.chatId)
            .orderBy(sql`min(${commands.intakeSeq})`)
            .limit(limit)
        )
        .pipe(Effect.map(rows => rows.flatMap(r => (r.chatId === null ? [] : [r.chatId]))))

    /** Unfinished commands on a chat (clear_unread listing it included) in intake order. */
    const pendingOnChat = (accountId: string, chatId: string, limit: number) =>
      select(and(eq(commands.accountId, accountId), unfinished, onChat(chatId)), limit)

    /** Takes commands for one attempt; a command another worker holds already is left out. */
    const claim = (ids: ReadonlyArray<string>, leaseMs: number) =>
      database
        .use(db =>
          db
            .update(commands)
            .set({
              status: "running",
              attempts: sql`${commands.attempts} + 1`,
              claims: sql`${commands.claims} + 1`,
              eta: null,
              updatedAt: sql`now()`,
              leaseUntil: sql`now() + make_interval(secs => ${leaseMs / 1000})`
            })
            .where(and(inArray(commands.id, [...ids]), inArray(commands.status, WAITING)))
            .returning()
        )
        .pipe(Effect.flatMap(decodeCommandRows))

    /**
     * Plans and claims one coalesced mark_as_read call in one transaction: the own command's chat first, then the
     * account's oldest waiting chats, up to `maxChats` chats, each with the leading run of its waiting mark_as_read
     * commands (an earlier unfinished command of another type, a running one, or a clear_unread listing the chat keeps
     * a chat out). Planners of one account take turns (advisory lock), so each sees what the previous one claimed and
     * every call is full while enough commands wait: the call count is the dry run's. When the own command is not
     * claimable (another call carries it, or it waits for a predecessor) the oldest waiting chats are claimed all the
     * same, so that every worker sends a full call; empty when nothing waits. See docs/commands.md.
     */
    const claimReadBatch = (accountId: string, ownId: string, maxChats: number, leaseMs: number) =>
      Effect.uninterruptible(
        database.use((_, sql) =>
          sql.begin(async tx => {
            await tx`select pg_advisory_xact_lock(hashtextextended(${`coalesce:mark_as_read:${accountId}`}, 0))`
            const eligible = (extra: postgres.PendingQuery<postgres.Row[]>, limit: number) =>
              tx<Array<{ id: string; chat_id: string }>>`
                select c.id, c.chat_id from commands c
                where c.account_id = ${accountId} and c.type = 'mark_as_read'
                  and c.status in ('queued', 'waiting_rate_limit') and c.chat_id is not null ${extra}
                  and not exists (select 1 from commands p where p.account_id = c.account_id
                    and p.chat_id = c.chat_id and p.intake_seq < c.intake_seq
                    and p.status not in ('succeeded', 'failed', 'cancelled')
                    and (p.type <> 'mark_as_read' or p.status not in ('queued', 'waiting_rate_limit')))
                  and not exists (select 1 from commands p where p.account_id = c.account_id
                    and p.type = 'clear_unread' and p.status not in ('succeeded', 'failed', 'cancelled')
                    and (p.payload -> 'chat_ids') ? c.chat_id and p.intake_seq < c.intake_seq)
                order by c.intake_seq limit ${limit}`
            const own = await eligible(
              tx`and c.chat_id = (select chat_id from commands where id = ${ownId}::uuid)`,
              CANDIDATES
            )
            // The own command not claimable (another call carries it): this turn still carries the oldest that wait.
            const others = await eligible(tx``, CANDIDATES)
            const chats = new Map<string, Array<string>>()
            for (const r of [...(own.some(r => r.id === ownId) ? own : []), ...others]) {
              const ids = chats.get(r.chat_id)
              if (ids === undefined) {
                if (chats.size >= maxChats) continue
                chats.set(r.chat_id, [r.id])
              } else if (!ids.includes(r.id)) ids.push(r.id)
            }
            const ids = [...chats.values()].flat()
            const taken = await tx<Array<{ id: string }>>`
              update commands set status = 'running', attempts = attempts + 1, claims = claims + 1, eta = null,
                updated_at = now(),
                lease_until = now() + make_interval(secs => ${leaseMs / 1000})
              where id = any(${ids}::uuid[]) and status in ('queued', 'waiting_rate_limit', 'waiting_reauth')
              returning id`
            return taken.map(r => r.id)
          })
        )
      ).pipe(
        Effect.flatMap(ids => (ids.length === 0 ? Effect.succeed([]) : select(inArray(commands.id, ids), ids.length)))
      )

    /** The first unfinished command on each of these chats (clear_unread listing it included), in one query. */
    const nextOnChats = (accountId: string, chatIds: ReadonlyArray<string>) =>
      chatIds.length === 0
        ? Effect.succeed(new Map<string, string>())
        : select(and(eq(commands.accountId, accountId), unfinished, onAnyChat(chatIds)), 10_000).pipe(
            Effect.map(rows => {
              const wanted = new Set(chatIds)
              const next = new Map<string, string>()
              for (const c of rows) {
                for (const chatId of c.type === "clear_unread"
                  ? c.params.chat_ids
                  : c.chatId === null
                    ? []
                    : [c.chatId]) {
                  if (wanted.has(chatId) && !next.has(chatId)) next.set(chatId, c.id)
                }
              }
              return next
            })
          )

    /** A running command whose worker died (lease passed): taken over, its upstream outcome unknown. */
    const reclaimStalled = (id: string, leaseMs: number) =>
      database
        .use(db =>
          db
            .update(commands)
            .set({
              attempts: sql`${commands.attempts} + 1`,
              claims: sql`${commands.claims} + 1`,
              updatedAt: sql`now()`,
              needsCheck: true,
              leaseUntil: sql`now() + make_interval(secs => ${leaseMs / 1000})`
            })
            .where(
              and(
                eq(commands.id, id),
                eq(commands.status, "running"),
                or(isNull(commands.leaseUntil), lt(commands.leaseUntil, sql`now()`))
              )
            )
            .returning()
        )
        .pipe(
          Effect.flatMap(decodeCommandRows),
          Effect.map(rows => rows[0])
        )

    /**
     * A live attempt keeps its lease: only an attempt whose process died loses it. Renews the claims still held and
     * running, and returns the ids of those another attempt (or the operator) has taken since: their `claims` grew
     * past the attempt's, a lease that passed while renewals failed. What the attempt did itself — settled or parked
     * its commands — leaves them not taken.
     */
    const extendLease = (claims: ReadonlyArray<Claim>, leaseMs: number) =>
      claims.length === 0
        ? Effect.succeed<ReadonlyArray<string>>([])
        : database.use(async (_, sql) => {
            const rows = await sql<Array<{ id: string }>>`
              with v as (
                select * from unnest(${claims.map(c => c.id)}::uuid[], ${claims.map(c => c.claims)}::int[])
                  as v(id, claims)),
              renewed as (
                update commands c set lease_until = now() + make_interval(secs => ${leaseMs / 1000})
                from v where c.id = v.id and c.claims = v.claims and c.status = 'running'
                returning c.id)
              select c.id from commands c join v on c.id = v.id where c.claims > v.claims`
            return rows.map(r => r.id)
          })

    /** Parks what the attempt still holds (see `Claim`, `Held`). */
    const park = (claims: ReadonlyArray<Claim>, parking: Parking) =>
      claims.length === 0
        ? Effect.void
        : database
            .use(db =>
              db
                .update(commands)
                .set({
                  status: parking.status,
                  leaseUntil: null,
                  eta: parking.eta,
                  updatedAt: sql`now()`,
                  ...(parking.error === null ? {} : { lastError: sql`${JSON.stringify(parking.error)}::text::jsonb` }),
                  ...(parking.needsCheck === undefined ? {} : { needsCheck: parking.needsCheck }),
                  ...(parking.refundAttempt ? { attempts: sql`greatest(0, ${commands.attempts} - 1)` } : {})
                })
                .where(
                  and(
                    stillHeld(claims),
                    parking.from === "running" ? eq(commands.status, "running") : inArray(commands.status, WAITING)
                  )
                )
            )
            .pipe(Effect.asVoid)

    /** Unfinished and not yet handed to the queue (the outbox). */
    const unenqueued = (limit: number) => select(isNull(commands.enqueuedAt), limit)

    /**
     * Marks commands handed to the queue, as the relay read them: a command retried since (settled and put back by
     * the operator while the relay worked) needs its new job and stays unmarked for the next round.
     */
    const markEnqueued = (relayed: ReadonlyArray<Pick<CommandRecord, "id" | "retries">>) =>
      relayed.length === 0
        ? Effect.void
        : database
            .use(db =>
              db
                .update(commands)
                .set({ enqueuedAt: sql`now()` })
                .where(
                  sql`(${commands.id}, ${commands.retries}) in (${sql.join(
                    relayed.map(c => sql`(${c.id}::uuid, ${c.retries}::int)`),
                    sql`, `
                  )})`
                )
            )
            .pipe(Effect.asVoid)

    /** Unfinished commands already handed to the queue, in intake order after `afterSeq`: what the sweeper checks. */
    const enqueuedUnfinished = (afterSeq: number, limit: number) =>
      database.use(db =>
        db
          .select({ id: commands.id, accountId: commands.accountId, eta: commands.eta, intakeSeq: commands.intakeSeq })
          .from(commands)
          .where(and(unfinished, gt(commands.intakeSeq, afterSeq), isNotNull(commands.enqueuedAt)))
          .orderBy(asc(commands.intakeSeq))
          .limit(limit)
      )

    /** Of these ids, those whose command is still unfinished. */
    const unfinishedOf = (ids: ReadonlyArray<string>) =>
      ids.length === 0
        ? Effect.succeed([])
        : database
            .use(db =>
              db
                .select({ id: commands.id })
                .from(commands)
                .where(and(inArray(commands.id, [...ids]), unfinished))
            )
            .pipe(Effect.map(rows => rows.map(r => r.id)))

    /** A row that does not decode cannot run: it fails, visibly, with the field that broke. */
    const failUndecodable = (e: CommandRowInvalid) =>
      database
        .use(db =>
          db
            .update(commands)
            .set({
              status: "failed",
              lastError: { code: "invalid_command_row", message: `${e.field}: ${e.message}` },
              leaseUntil: null,
              eta: null,
              completedAt: sql`now()`,
              updatedAt: sql`now()`
            })
            .where(and(eq(commands.id, e.id), unfinished))
        )
        .pipe(Effect.asVoid)

    // Concurrent settlements (and the relay's marks) lock rows in different orders: PostgreSQL may pick one as a
    // deadlock victim. Its transaction rolled back whole and every event carries a dedupe key, so it is run again.
    const finish = (accountId: string, settlement: Settlement) =>
      Effect.uninterruptible(database.use((_, sql) => sql.begin(tx => finishTx(tx, accountId, settlement)))).pipe(
        Effect.retry({ times: 5, while: isSerializationFailure })
      )

    return {
      finish: Effect.fn("CommandsRepo.finish")(finish),
      intake: Effect.fn("CommandsRepo.intake")(intake),
      get: Effect.fn("CommandsRepo.get")((id: string) => asDbError(load(id))),
      load: Effect.fn("CommandsRepo.load")(load),
      hasPredecessor: Effect.fn("CommandsRepo.hasPredecessor")(hasPredecessor),
      pendingOfTypes: Effect.fn("CommandsRepo.pendingOfTypes")(pendingOfTypes),
      pendingChatsOfType: Effect.fn("CommandsRepo.pendingChatsOfType")(pendingChatsOfType),
      pendingOnChat: Effect.fn("CommandsRepo.pendingOnChat")(pendingOnChat),
      claim: Effect.fn("CommandsRepo.claim")(claim),
      claimReadBatch: Effect.fn("CommandsRepo.claimReadBatch")(claimReadBatch),
      nextOnChats: Effect.fn("CommandsRepo.nextOnChats")(nextOnChats),
      reclaimStalled: Effect.fn("CommandsRepo.reclaimStalled")(reclaimStalled),
      park: Effect.fn("CommandsRepo.park")(park),
      extendLease: Effect.fn("CommandsRepo.extendLease")(extendLease),
      unenqueued: Effect.fn("CommandsRepo.unenqueued")(unenqueued),
      markEnqueued: Effect.fn("CommandsRepo.markEnqueued")(markEnqueued),
      enqueuedUnfinished: Effect.fn("CommandsRepo.enqueuedUnfinished")(enqueuedUnfinished),
      unfinishedOf: Effect.fn("CommandsRepo.unfinishedOf")(unfinishedOf),
      failUndecodable: Effect.fn("CommandsRepo.failUndecodable")(failUndecodable)
    } as const
  })
}) {}
