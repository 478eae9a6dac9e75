import { type CommandInput, parseCommand } from "@cliq-mirror/core"
import {
  type Accepted,
  type CommandRecord,
  CommandsRepo,
  type DbError,
  type IdempotencyConflict
} from "@cliq-mirror/db"
import { type CommandFilters, CommandsQuery } from "@cliq-mirror/db/CommandsQuery"
import { HttpApiBuilder, type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Data, Effect, Either, Option } from "effect"
import { ApiAccounts } from "../Accounts.js"
import { Api } from "../Api.js"
import { commandFiltersFingerprint, decodeCommandCursor, encodeCommandCursor } from "../CommandCursor.js"
import { CommandEta } from "../CommandEta.js"
import { CommandAccepted, CommandBatchAccepted, CommandPage, CommandReplayed, toCommandDto } from "../Dto/Command.js"
import { MAX_BODY_BYTES } from "../Edge.js"
import { Conflict, InvalidParameter, NotFound, PayloadTooLarge } from "../Errors.js"
import { IntakeBatcher } from "../IntakeBatcher.js"
import { DEFAULT_LIMIT, type ListCommandsParams } from "../Params.js"

export const MAX_BATCH = 1000

class BodyUnreadable extends Data.TaggedError("BodyUnreadable")<{ readonly cause: unknown }> {}

/**
 * The body, at most MAX_BODY_BYTES of it. The edge refuses a declared Content-Length over the limit; a chunked body is
 * counted here. Past the limit the rest is drained and dropped rather than the stream destroyed (what the platform's
 * own reader does), so the client still receives the 413 instead of a connection reset.
 */
const readBody = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.async<string, PayloadTooLarge | BodyUnreadable>(resume => {
    const source = NodeHttpServerRequest.toIncomingMessage(request)
    const chunks: Array<Buffer> = []
    let bytes = 0
    const done = () => {
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onError)
    }
    const onData = (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes <= MAX_BODY_BYTES) {
        chunks.push(chunk)
        return
      }
      done()
      source.on("error", () => {})
      source.resume()
      resume(Effect.fail(PayloadTooLarge.of(`request body exceeds ${MAX_BODY_BYTES} bytes`)))
    }
    const onEnd = () => {
      done()
      resume(Effect.succeed(Buffer.concat(chunks).toString("utf8")))
    }
    const onError = (cause: unknown) => {
      done()
      resume(Effect.fail(new BodyUnreadable({ cause })))
    }
    source.on("data", onData)
    source.once("end", onEnd)
    source.once("error", onError)
    return Effect.sync(done)
  })

const readJson = (request: HttpServerRequest.HttpServerRequest) =>
  readBody(request).pipe(
    Effect.catchTag("BodyUnreadable", Effect.die),
    Effect.flatMap(text =>
      Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: () => InvalidParameter.of("body", "must be valid JSON")
      })
    )
  )

const filtersOf = (p: ListCommandsParams): CommandFilters => ({
  statuses: p.status,
  types: p.type,
  accountId: p.account_id
})

const accepted = (a: Accepted) => ({ command_id: a.command.id, status: a.command.status })

export const CommandsLive = HttpApiBuilder.group(Api, "commands", handlers =>
  Effect.gen(function* () {
    const repo = yield* CommandsRepo
    const query = yield* CommandsQuery
    const accounts = yield* ApiAccounts
    const etas = yield* CommandEta
    const batcher = yield* IntakeBatcher

    /** One command of the request through core's parseCommand; `at` locates it inside a batch (`commands[3]`). */
    const parse = (body: unknown, at: string): Either.Either<CommandInput, InvalidParameter> => {
      const field = (name: string) => (at === "" ? name : name === "body" ? at : `${at}.${name}`)
      return Either.flatMap(
        Either.mapLeft(parseCommand(body), e => InvalidParameter.of(field(e.field), e.message)),
        input =>
          input.accountId === undefined || accounts.isKnown(input.accountId)
            ? Either.right(input)
            : Either.left(InvalidParameter.of(field("account_id"), "unknown account"))
      )
    }

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
          const input = yield* Effect.flatMap(readJson(request), body => parse(body, ""))
          const first = yield* intakeErrors(batcher.submit(input), () => "idempotency_key")
          // Both shapes are alike, so the status cannot come from the success schema: a replay is answered directly.
          return first.replayed
            ? HttpServerResponse.unsafeJson(new CommandReplayed(accepted(first)), { status: 200 })
            : new CommandAccepted(accepted(first))
        })
      )
      .handleRaw("submitCommands", ({ request }) =>
        Effect.gen(function* () {
          const body = yield* readJson(request)
          if (typeof body !== "object" || body === null || Array.isArray(body)) {
            return yield* Effect.fail(InvalidParameter.of("body", 'must be a JSON object { "commands": [...] }'))
          }
          const extra = Object.keys(body).find(k => k !== "commands")
          if (extra !== undefined) return yield* Effect.fail(InvalidParameter.of(extra, "is unexpected"))
          const list = (body as { commands?: unknown }).commands
          if (!Array.isArray(list) || list.length < 1 || list.length > MAX_BATCH) {
            return yield* Effect.fail(InvalidParameter.of("commands", `must be a list of 1 to ${MAX_BATCH} commands`))
          }
          const inputs: Array<CommandInput> = []
          for (const [i, item] of list.entries()) inputs.push(yield* parse(item, `commands[${i}]`))
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
