import {
  budgetKey,
  COMMAND_TYPES,
  type CommandInput,
  carryOf,
  commandBucket,
  estimateEta,
  parseCommand,
  RateBudget
} from "@cliq-mirror/core"
import { BatchesRepo, type BatchState, type BulkTarget, MAX_BATCH_CHATS } from "@cliq-mirror/db/BatchesRepo"
import type { ChatFilters } from "@cliq-mirror/db/ChatsQuery"
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect, Either, Option } from "effect"
import { ApiAccounts } from "../Accounts.js"
import { Api } from "../Api.js"
import { Batch, BatchAccepted, BatchCancelled, BatchRetried, type BulkPreview, type BulkRequest } from "../BulkApi.js"
import { CommandEta } from "../CommandEta.js"
import { toChatJson } from "../Dto/Chat.js"
import { toCommandDto } from "../Dto/Command.js"
import { Conflict, InvalidParameter, NotFound } from "../Errors.js"
import { parseTime } from "../Params.js"

const SAMPLE = 10
const RESERVED = new Set(["type", "where", "account_id", "idempotency_key", "dry_run", "chat_id", "chat_ids"])

const timeOf = (
  field: string,
  value: string | number | undefined
): Either.Either<Date | undefined, InvalidParameter> =>
  value === undefined
    ? Either.right(undefined)
    : Option.match(parseTime(String(value)), {
        onNone: () => Either.left(InvalidParameter.of(field, "must be epoch milliseconds or an ISO 8601 date-time")),
        onSome: d => Either.right(d)
      })

export const filtersOfWhere = (body: BulkRequest): Either.Either<ChatFilters, InvalidParameter> =>
  Either.gen(function* () {
    const w = body.where ?? {}
    return {
      accountId: body.account_id,
      chatTypes: w.chat_type,
      pinned: w.pinned,
      muted: w.muted,
      removed: w.removed,
      closed: w.closed,
      unread: w.unread,
      q: w.q,
      modifiedAfter: yield* timeOf("where.modified_after", w.modified_after),
      modifiedBefore: yield* timeOf("where.modified_before", w.modified_before)
    }
  })

/** The command body for one chat: the request's own parameters plus what the mirror knows of the chat. */
export const commandBody = (body: BulkRequest, target: BulkTarget): Record<string, unknown> => {
  const params = Object.fromEntries(Object.entries(body).filter(([k]) => !RESERVED.has(k)))
  switch (body.type) {
    case "clear_unread":
      return { ...params, type: body.type, chat_ids: [target.chatId] }
    case "mark_as_read":
      return { ...params, type: body.type, chat_id: target.chatId, last_message_id: target.lastMessageId }
    default:
      return { ...params, type: body.type, chat_id: target.chatId }
  }
}

const buildCommands = (body: BulkRequest, targets: ReadonlyArray<BulkTarget>) =>
  targets.map((target): CommandInput => {
    const parsed = parseCommand(commandBody(body, target))
    if (Either.isLeft(parsed)) throw new Error(`${parsed.left.field}: ${parsed.left.message}`)
    return { ...parsed.right, accountId: target.accountId, idempotencyKey: undefined }
  })

/** Upstream calls of `n` commands of one account after coalescing: the bulk form carries 100 chats per call. */
export const callsFor = (type: BulkRequest["type"], perAccount: ReadonlyMap<string, number>): number => {
  const carry = carryOf(commandBucket(type))
  let calls = 0
  for (const n of perAccount.values()) calls += Math.ceil(n / carry)
  return calls
}

const batchStatus = (counts: Readonly<Record<string, number>>) =>
  Object.entries(counts).every(([status, n]) => n === 0 || ["succeeded", "failed", "cancelled"].includes(status))
    ? ("finished" as const)
    : ("in_progress" as const)

export const BulkLive = HttpApiBuilder.group(Api, "bulk", handlers =>
  Effect.gen(function* () {
    const repo = yield* BatchesRepo
    const accounts = yield* ApiAccounts
    const etas = yield* CommandEta
    const maybeBudget = yield* Effect.serviceOption(RateBudget)

    /** The eta of the last call: core's rule over each account's budget, the latest of them. */
    const etaOf = (type: BulkRequest["type"], perAccount: ReadonlyMap<string, number>) =>
      Effect.gen(function* () {
        if (Option.isNone(maybeBudget) || perAccount.size === 0) return null
        const budget = maybeBudget.value
        const bucket = commandBucket(type)
        const types = COMMAND_TYPES.filter(t => commandBucket(t) === bucket)
        let latest = 0
        for (const [accountId, n] of perAccount) {
          const account = { id: accountId, clientKey: accounts.clientKey(accountId) }
          const peers = budget.buckets[bucket].scope === "user" ? [accountId] : accounts.sameClient(accountId)
          const ahead = yield* repo.pending(peers, types)
          const usage = yield* budget.usage({ key: budgetKey(account, bucket, budget.buckets), bucket })
          const eta = estimateEta({
            ahead: ahead + n - 1,
            carry: carryOf(bucket),
            threshold: usage.threshold,
            periodMs: usage.windowMs + usage.marginMs,
            counted: usage.counted,
            now: usage.now,
            lockedUntil: usage.lockedUntil,
            stored: null
          })
          latest = Math.max(latest, eta)
        }
        return new Date(latest).toISOString()
      }).pipe(Effect.catchTag("RateBudgetError", () => Effect.succeed(null)))

    const batchDto = (state: BatchState) =>
      Effect.gen(function* () {
        const total = Object.values(state.counts).reduce((a, b) => a + b, 0)
        const final = (state.counts.succeeded ?? 0) + (state.counts.failed ?? 0) + (state.counts.cancelled ?? 0)
        const lastEta =
          state.lastQueued === undefined ? undefined : (yield* etas.of([state.lastQueued])).get(state.lastQueued.id)
        return new Batch({
          batch_id: state.batch.id,
          type: state.batch.type,
          account_id: state.batch.accountId,
          created_at: state.batch.createdAt.toISOString(),
          matched: state.batch.matched,
          status: batchStatus(state.counts),
          counts: state.counts,
          progress: total === 0 ? 1 : final / total,
          eta: lastEta === undefined || lastEta === null ? null : lastEta.toISOString(),
          failures: state.failures.map(c => toCommandDto(c, null))
        })
      })

    return handlers
      .handle("bulk", ({ payload }) =>
        Effect.gen(function* () {
          if (payload.account_id !== undefined && !accounts.isKnown(payload.account_id)) {
            return yield* Effect.fail(InvalidParameter.of("account_id", "unknown account"))
          }
          const filters = yield* filtersOfWhere(payload)
          const needsLastMessage = payload.type === "mark_as_read"
          // The parameters are checked once, on a stand-in chat, before anything is read or stored.
          const probe = parseCommand(commandBody(payload, { accountId: "", chatId: "probe", lastMessageId: "probe" }))
          if (Either.isLeft(probe)) return yield* Effect.fail(InvalidParameter.of(probe.left.field, probe.left.message))
          const tooMany = (matched: number) =>
            InvalidParameter.of("where", `matches ${matched} chats or more; a batch takes at most ${MAX_BATCH_CHATS}`)
          if (payload.dry_run === true) {
            const match = yield* repo.match(filters, needsLastMessage)
            if (match.matched > MAX_BATCH_CHATS) return yield* Effect.fail(tooMany(match.matched))
            const sample = yield* repo.sample(filters, needsLastMessage, SAMPLE)
            const body: typeof BulkPreview.Encoded = {
              dry_run: true,
              matched: match.matched,
              sample: sample.map(toChatJson),
              upstream_calls: callsFor(payload.type, match.perAccount),
              eta: yield* etaOf(payload.type, match.perAccount)
            }
            return HttpServerResponse.unsafeJson(body)
          }
          const created = yield* repo
            .create({
              type: payload.type,
              accountId: payload.account_id ?? accounts.defaultAccount,
              idempotencyKey: payload.idempotency_key,
              request: Object.fromEntries(Object.entries(payload).filter(([k]) => k !== "dry_run")),
              filters,
              needsLastMessage,
              commandsOf: targets => buildCommands(payload, targets),
              defaultAccount: accounts.defaultAccount
            })
            .pipe(
              Effect.catchTags({
                BatchTooLarge: e => Effect.fail(tooMany(e.matched)),
                IdempotencyConflict: e =>
                  Effect.fail(
                    Conflict.of(
                      "idempotency_conflict",
                      `idempotency_key ${JSON.stringify(e.idempotencyKey)} was used for batch ${e.commandId} with another body`,
                      "idempotency_key"
                    )
                  )
              })
            )
          const state = created.replayed ? yield* repo.get(created.batch.id) : undefined
          return new BatchAccepted({
            batch_id: created.batch.id,
            matched: created.batch.matched,
            status: state === undefined ? "in_progress" : batchStatus(state.counts),
            replayed: created.replayed
          })
        }).pipe(Effect.catchTag("DbError", Effect.die))
      )
      .handle("getBatch", ({ path }) =>
        Effect.gen(function* () {
          const state = yield* repo.get(path.batch_id)
          if (state === undefined) return yield* Effect.fail(NotFound.of(`batch ${path.batch_id} not found`))
          return yield* batchDto(state)
        }).pipe(Effect.catchTag("DbError", Effect.die))
      )
      .handle("cancelBatch", ({ path }) =>
        Effect.gen(function* () {
          const cancelled = yield* repo.cancelBatch(path.batch_id)
          if (cancelled === undefined) return yield* Effect.fail(NotFound.of(`batch ${path.batch_id} not found`))
          return new BatchCancelled({ batch_id: path.batch_id, cancelled })
        }).pipe(Effect.catchTag("DbError", Effect.die))
      )
      .handle("retryBatch", ({ path }) =>
        Effect.gen(function* () {
          const retried = yield* repo.retryBatch(path.batch_id)
          if (retried === undefined) return yield* Effect.fail(NotFound.of(`batch ${path.batch_id} not found`))
          return new BatchRetried({ batch_id: path.batch_id, retried })
        }).pipe(Effect.catchTag("DbError", Effect.die))
      )
      .handle("cancelCommand", ({ path }) =>
        Effect.gen(function* () {
          const outcome = yield* repo.cancelCommand(path.command_id)
          switch (outcome._tag) {
            case "Missing":
              return yield* Effect.fail(NotFound.of(`command ${path.command_id} not found`))
            case "NotCancellable":
              return yield* Effect.fail(
                Conflict.of(
                  "not_cancellable",
                  `command ${path.command_id} is ${outcome.status}; only a command that has not started can be cancelled`
                )
              )
            case "Cancelled":
              return toCommandDto(outcome.command, null)
          }
        }).pipe(Effect.catchTag("DbError", Effect.die))
      )
  })
)
