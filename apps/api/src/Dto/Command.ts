import { COMMAND_PARAMS, COMMAND_STATUSES, COMMAND_TYPES, type CommandType } from "@cliq-mirror/core"
import type { CommandRecord } from "@cliq-mirror/db"
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { iso } from "./Chat.js"

const Iso = Schema.String.annotations({
  description: "ISO 8601 UTC with milliseconds",
  examples: ["2025-01-02T03:04:05.678Z"]
})
const Status = Schema.Literal(...COMMAND_STATUSES)
const Json = Schema.Record({ key: Schema.String, value: Schema.Unknown })

export class Command extends Schema.Class<Command>("Command")({
  command_id: Schema.String,
  type: Schema.Literal(...(COMMAND_TYPES as [CommandType, ...Array<CommandType>])),
  account_id: Schema.String,
  chat_id: Schema.NullOr(Schema.String),
  status: Status,
  attempts: Schema.Int,
  last_error: Schema.NullOr(Schema.Struct({ code: Schema.String, message: Schema.String })),
  created_at: Iso,
  updated_at: Iso,
  completed_at: Schema.NullOr(Iso),
  superseded_by: Schema.NullOr(Schema.String).annotations({
    description: "The command whose upstream call carried this one (coalescing)"
  }),
  eta: Schema.NullOr(Iso).annotations({
    description:
      "When the command's upstream call is expected: the stored time for waiting_rate_limit, an estimate for queued, null otherwise"
  }),
  batch_id: Schema.NullOr(Schema.String).annotations({
    description: "The batch (POST /v1/bulk) that took this command in; null for a command sent alone"
  }),
  params: Json,
  result: Schema.NullOr(Json)
}) {}

export const toCommandDto = (c: CommandRecord, eta: Date | null): Command =>
  new Command({
    command_id: c.id,
    type: c.type,
    account_id: c.accountId,
    chat_id: c.chatId,
    status: c.status,
    attempts: c.attempts,
    last_error: c.lastError === null ? null : { code: c.lastError.code, message: c.lastError.message },
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
    completed_at: iso(c.completedAt),
    superseded_by: c.supersededBy,
    eta: iso(eta),
    batch_id: c.batchId,
    params: c.params,
    result: c.result
  })

const acceptedFields = { command_id: Schema.String, status: Status }

/** A new command taken in (or a failed one put back in the queue). */
export class CommandAccepted extends Schema.Class<CommandAccepted>("CommandAccepted")(
  acceptedFields,
  HttpApiSchema.annotations({ status: 202, description: "Taken in; it runs in the background" })
) {}

/** The idempotency key was seen before with the same body: the first command, as it is now. */
export class CommandReplayed extends Schema.Class<CommandReplayed>("CommandReplayed")(
  acceptedFields,
  HttpApiSchema.annotations({ status: 200, description: "The command first taken in with this idempotency_key" })
) {}

export class CommandBatchAccepted extends Schema.Class<CommandBatchAccepted>("CommandBatchAccepted")(
  { data: Schema.Array(Schema.Struct(acceptedFields)) },
  HttpApiSchema.annotations({ status: 202, description: "Every command taken in, in request order" })
) {}

export class CommandPage extends Schema.Class<CommandPage>("CommandPage")({
  data: Schema.Array(Command),
  next_cursor: Schema.NullOr(Schema.String)
}) {}

const Envelope = Schema.Struct({
  account_id: Schema.optional(
    Schema.String.annotations({ description: "A configured account; default: the single or first account" })
  ),
  idempotency_key: Schema.optional(
    Schema.String.annotations({
      description: "1 to 200 characters; a repeat with the same body returns the first command"
    })
  )
})

const bodyOf = (type: CommandType) =>
  Schema.extend(
    Schema.extend(Schema.Struct({ type: Schema.Literal(type) }), Envelope),
    COMMAND_PARAMS[type] as unknown as Schema.Schema<Record<string, unknown>>
  ).annotations({ identifier: `Command_${type}` })

/** For the API document only: intake reads the body with core's parseCommand, the one validation path. */
export const CommandBody = Schema.Union(...COMMAND_TYPES.map(bodyOf)).annotations({
  identifier: "CommandRequest",
  description: "`type`, optional `account_id` and `idempotency_key`, and the type's parameters; nothing else"
})

export const CommandBatch = Schema.Struct({
  commands: Schema.Array(CommandBody).annotations({ description: "1 to 1000 commands, taken in all or nothing" })
})
