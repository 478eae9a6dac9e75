import { CHAT_TYPES, ChatType } from "@cliq-mirror/core"
import { MAX_BATCH_CHATS } from "@cliq-mirror/db/BatchesRepo"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Authorization } from "./Auth.js"
import { Chat } from "./Dto/Chat.js"
import { Command } from "./Dto/Command.js"
import { Conflict, NotFound } from "./Errors.js"
import { CommandPath, MAX_ID_LENGTH, MAX_Q_LENGTH } from "./Params.js"

/** Types a bulk request may carry: those acting on one chat with the same parameters for every chat. */
export const BULK_TYPES = [
  "mark_as_read",
  "clear_unread",
  "update_history_status",
  "clear_local_history",
  "close_chat",
  "add_members",
  "remove_members",
  "leave_chat",
  "mute_chat",
  "unmute_chat"
] as const
export type BulkType = (typeof BULK_TYPES)[number]

const Time = Schema.Union(Schema.String, Schema.Number).annotations({
  description: "Epoch milliseconds or an ISO 8601 date-time"
})

/** The filters of `GET /v1/chats`, as JSON. */
export const BulkWhere = Schema.Struct({
  chat_type: Schema.optional(Schema.Array(ChatType)).annotations({ description: `Any of ${CHAT_TYPES.join(", ")}` }),
  pinned: Schema.optional(Schema.Boolean),
  muted: Schema.optional(Schema.Boolean),
  removed: Schema.optional(Schema.Boolean),
  closed: Schema.optional(Schema.Boolean),
  unread: Schema.optional(Schema.Boolean),
  q: Schema.optional(Schema.String.pipe(Schema.maxLength(MAX_Q_LENGTH))),
  modified_after: Schema.optional(Time),
  modified_before: Schema.optional(Time)
}).annotations({ identifier: "BulkWhere", parseOptions: { onExcessProperty: "error" } })

export const BulkRequest = Schema.Struct(
  {
    type: Schema.Literal(...BULK_TYPES),
    where: Schema.optional(BulkWhere),
    account_id: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(MAX_ID_LENGTH))),
    idempotency_key: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))),
    dry_run: Schema.optional(Schema.Boolean)
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
).annotations({
  identifier: "BulkRequest",
  description:
    "The command's own parameters (e.g. history_status, user_ids) sit beside type; chat_id, chat_ids and " +
    "last_message_id come from the mirror."
})
export type BulkRequest = typeof BulkRequest.Type

const Iso = Schema.String

export class BulkPreview extends Schema.Class<BulkPreview>("BulkPreview")({
  dry_run: Schema.Literal(true),
  matched: Schema.Int,
  sample: Schema.Array(Chat),
  upstream_calls: Schema.Int.annotations({ description: "Upstream calls after coalescing (100 chats per bulk call)" }),
  eta: Schema.NullOr(Iso).annotations({ description: "When the last call is expected, from the shared budget" })
}) {}

export const BATCH_STATUSES = ["in_progress", "finished"] as const

export class BatchAccepted extends Schema.Class<BatchAccepted>("BatchAccepted")(
  {
    batch_id: Schema.String,
    matched: Schema.Int,
    status: Schema.Literal(...BATCH_STATUSES),
    replayed: Schema.Boolean
  },
  HttpApiSchema.annotations({ status: 202, description: "Every command taken in; they run in the background" })
) {}

export class Batch extends Schema.Class<Batch>("Batch")({
  batch_id: Schema.String,
  type: Schema.String,
  account_id: Schema.String,
  created_at: Iso,
  matched: Schema.Int,
  status: Schema.Literal(...BATCH_STATUSES),
  counts: Schema.Record({ key: Schema.String, value: Schema.Int }),
  progress: Schema.Number.annotations({ description: "Share of its commands in a final status, 0 to 1" }),
  eta: Schema.NullOr(Iso),
  failures: Schema.Array(Command).annotations({ description: "Its first 20 failed commands" })
}) {}

export class BatchCancelled extends Schema.Class<BatchCancelled>("BatchCancelled")({
  batch_id: Schema.String,
  cancelled: Schema.Int
}) {}

export class BatchRetried extends Schema.Class<BatchRetried>("BatchRetried")({
  batch_id: Schema.String,
  retried: Schema.Int
}) {}

export const BatchPath = Schema.Struct({
  batch_id: Schema.UUID.annotations({ message: () => "must be a UUID" })
})

export class BulkApi extends HttpApiGroup.make("bulk")
  .add(
    HttpApiEndpoint.post("bulk", "/v1/bulk")
      .setPayload(BulkRequest)
      .addSuccess(BulkPreview)
      .addSuccess(BatchAccepted)
      .addError(Conflict)
      .annotate(
        OpenApi.Description,
        `One command per chat matching where (the /v1/chats filters), at most ${MAX_BATCH_CHATS} chats (a 400 naming ` +
          "where beyond). dry_run: the count, a sample, the upstream calls and an eta, nothing stored. Otherwise a " +
          "batch: every command taken in within one transaction; the same idempotency_key and body answer the first."
      )
  )
  .add(HttpApiEndpoint.get("getBatch", "/v1/batches/:batch_id").setPath(BatchPath).addSuccess(Batch).addError(NotFound))
  .add(
    HttpApiEndpoint.post("cancelBatch", "/v1/batches/:batch_id/cancel")
      .setPath(BatchPath)
      .addSuccess(BatchCancelled)
      .addError(NotFound)
      .annotate(OpenApi.Description, "Cancels its commands that have not started; running and finished ones stay.")
  )
  .add(
    HttpApiEndpoint.post("retryBatch", "/v1/batches/:batch_id/retry")
      .setPath(BatchPath)
      .addSuccess(BatchRetried)
      .addError(NotFound)
      .annotate(OpenApi.Description, "Puts its failed commands back in the queue.")
  )
  .add(
    HttpApiEndpoint.post("cancelCommand", "/v1/commands/:command_id/cancel")
      .setPath(CommandPath)
      .addSuccess(Command)
      .addError(NotFound)
      .addError(Conflict)
      .annotate(
        OpenApi.Description,
        "Cancels a command that has not started (status cancelled); a running or finished one is a 409 not_cancellable."
      )
  )
  .middleware(Authorization) {}
