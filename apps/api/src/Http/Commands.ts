import type { CommandInput } from "@cliq-mirror/core"
import {
  type Accepted,
  type CommandRecord,
  CommandsRepo,
  type DbError,
  type IdempotencyConflict
} from "@cliq-mirror/db"
import { type CommandFilters, CommandsQuery } from "@cliq-mirror/db/CommandsQuery"
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect, Either, Option } from "effect"
import { ApiAccounts } from "../Accounts.js"
import { Api } from "../Api.js"
import { decodeBody } from "../Body.js"
import { commandFiltersFingerprint, decodeCommandCursor, encodeCommandCursor } from "../CommandCursor.js"
import { CommandEta } from "../CommandEta.js"
import { CommandAccepted, CommandBatchAccepted, CommandPage, CommandReplayed, toCommandDto } from "../Dto/Command.js"
import { Conflict, InvalidParameter, NotFound } from "../Errors.js"
import { CommandBatchRequest, CommandRequest } from "../Intake.js"
import { IntakeBatcher } from "../IntakeBatcher.js"
import { DEFAULT_LIMIT, type ListCommandsParams } from "../Params.js"

const filtersOf = (p: ListCommandsParams): CommandFilters => ({
  statuses: p.status,
  types: p.type,
  accountId: p.account_id,
  batchId: p.batch_id,
  chatId: p.chat_id,
  createdAfter: p.created_after,
  createdBefore: p.created_before
})

const accepted = (a: Accepted) => ({ command_id: a.command.id, status: a.command.status })

export const CommandsLive = HttpApiBuilder.group(Api, "commands", handlers =>
  Effect.gen(function* () {
    const repo = yield* CommandsRepo
    const query = yield* CommandsQuery
    const accounts = yield* ApiAccounts
    const etas = yield* CommandEta
    const batcher = yield* IntakeBatcher

    /** The request decoded it; whether its account is configured is known only here. `at`: `commands[3].` in a batch. */
    const knownAccount = (input: CommandInput, at: string): Either.Either<CommandInput, InvalidParameter> =>
      input.accountId === undefined || accounts.isKnown(input.accountId)
        ? Either.right(input)
        : Either.left(InvalidParameter.of(`${at}account_id`, "unknown account"))

    const intakeErrors = <A>(
      effect: Effect.Effect<A, DbError | IdempotencyConflict>,
      fieldOf: (index: number) => string
    ) =>
      effect.pipe(
        Effect.catchTags({
          DbError: Effect.die,
          IdempotencyConflict: e =>
            Effect.fail(
              Conflict.of(
                "idempotency_conflict",
                `idempotency_key ${JSON.stringify(e.idempotencyKey)} was used for command ${e.commandId} with another body`,
                fieldOf(e.index)
              )
            )
        })
      )

    const withEta = (commands: ReadonlyArray<CommandRecord>) =>
      etas.of(commands).pipe(
        Effect.catchTag("DbError", Effect.die),
        Effect.map(byId => commands.map(c => toCommandDto(c, byId.get(c.id) ?? null)))
      )

    return handlers
      .handleRaw("submitCommand", ({ request }) =>
        Effect.gen(function* () {
          const input = yield* Effect.flatMap(decodeBody(CommandRequest)(request), payload => knownAccount(payload, ""))
          const first = yield* intakeErrors(batcher.submit(input), () => "idempotency_key")
          // Both shapes are alike, so the status cannot come from the success schema: a replay is answered directly.
          return first.replayed
            ? HttpServerResponse.unsafeJson(new CommandReplayed(accepted(first)), { status: 200 })
            : new CommandAccepted(accepted(first))
        })
      )
      .handleRaw("submitCommands", ({ request }) =>
        Effect.gen(function* () {
          const payload = yield* decodeBody(CommandBatchRequest)(request)
          const inputs = yield* Effect.forEach(payload.commands, (input, i) => knownAccount(input, `commands[${i}].`))
          const all = yield* intakeErrors(
            repo.intake(inputs, accounts.defaultAccount),
            i => `commands[${i}].idempotency_key`
          )
          return new CommandBatchAccepted({ data: all.map(accepted) })
        })
      )
      .handle("getCommand", ({ path }) =>
        Effect.gen(function* () {
          const command = yield* repo.get(path.command_id).pipe(Effect.catchTag("DbError", Effect.die))
          if (command === undefined) return yield* Effect.fail(NotFound.of(`command ${path.command_id} not found`))
          const [dto] = yield* withEta([command])
          return dto!
        })
      )
      .handle("listCommands", ({ urlParams }) =>
        Effect.gen(function* () {
          const filters = filtersOf(urlParams)
          const fingerprint = commandFiltersFingerprint(filters)
          const after =
            urlParams.cursor === undefined ? undefined : yield* decodeCommandCursor(urlParams.cursor, fingerprint)
          const page = yield* query
            .list({ filters, limit: urlParams.limit ?? DEFAULT_LIMIT, after })
            .pipe(Effect.catchTag("DbError", Effect.die))
          return new CommandPage({
            data: yield* withEta(page.rows),
            next_cursor: Option.getOrNull(Option.map(page.next, key => encodeCommandCursor(key, fingerprint)))
          })
        })
      )
      .handle("retryCommand", ({ path }) =>
        Effect.gen(function* () {
          const outcome = yield* query.retry(path.command_id).pipe(Effect.catchTag("DbError", Effect.die))
          switch (outcome._tag) {
            case "Missing":
              return yield* Effect.fail(NotFound.of(`command ${path.command_id} not found`))
            case "NotRetryable":
              return yield* Effect.fail(
                Conflict.of(
                  "not_retryable",
                  `command ${path.command_id} is ${outcome.status}; only a failed command can be retried`
                )
              )
            case "Retried":
              return new CommandAccepted({ command_id: outcome.command.id, status: outcome.command.status })
          }
        })
      )
  })
)
