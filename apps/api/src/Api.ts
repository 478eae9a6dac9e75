import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Authorization } from "./Auth.js"
import { BulkApi } from "./BulkApi.js"
import { ChatPage, Chat as ChatSchema, MembersPage } from "./Dto/Chat.js"
import {
  CommandAccepted,
  CommandBatchAccepted,
  CommandPage,
  CommandReplayed,
  Command as CommandSchema
} from "./Dto/Command.js"
import { EventPage } from "./Dto/Event.js"
import { Health, Ready } from "./Dto/Ops.js"
import { SyncStatus } from "./Dto/SyncStatus.js"
import { Conflict, Internal, InvalidParameter, NotFound, NotReady, PayloadTooLarge } from "./Errors.js"
import { CommandBatchRequest, CommandRequest, INTAKE_SCHEMA_DEFINITIONS } from "./Intake.js"
import { ChatLookupParams, ChatPath, CommandPath, EventsParams, ListChatsParams, ListCommandsParams } from "./Params.js"

export const PrometheusText = HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4; charset=utf-8" })

export class OpsApi extends HttpApiGroup.make("ops", { topLevel: true })
  .add(HttpApiEndpoint.get("healthz", "/healthz").addSuccess(Health))
  .add(HttpApiEndpoint.get("readyz", "/readyz").addSuccess(Ready).addError(NotReady))
  .add(HttpApiEndpoint.get("metrics", "/metrics").addSuccess(PrometheusText))
  .annotate(OpenApi.Title, "Operations") {}

export class ChatsApi extends HttpApiGroup.make("chats")
  .add(
    HttpApiEndpoint.get("listChats", "/v1/chats")
      .setUrlParams(ListChatsParams)
      .addSuccess(ChatPage)
      .annotate(
        OpenApi.Description,
        "Keyset-paginated: pass next_cursor back as cursor with the same filters and sort until it is null."
      )
  )
  .add(
    HttpApiEndpoint.get("getChat", "/v1/chats/:chat_id")
      .setPath(ChatPath)
      .setUrlParams(ChatLookupParams)
      .addSuccess(ChatSchema)
      .addError(NotFound)
      .annotate(
        OpenApi.Description,
        "A chat id mirrored under several accounts resolves to the lowest account_id unless account_id is given."
      )
  )
  .add(
    HttpApiEndpoint.get("listMembers", "/v1/chats/:chat_id/members")
      .setPath(ChatPath)
      .setUrlParams(ChatLookupParams)
      .addSuccess(MembersPage)
      .addError(NotFound)
  )
  .middleware(Authorization) {}

export class EventsApi extends HttpApiGroup.make("events")
  .add(
    HttpApiEndpoint.get("listEvents", "/v1/events")
      .setUrlParams(EventsParams)
      .addSuccess(EventPage)
      .annotate(
        OpenApi.Description,
        "Ascending seq after `after`; poll again with after=next_after. A seq is visible only once every lower seq is."
      )
  )
  .middleware(Authorization) {}

export class SyncApi extends HttpApiGroup.make("sync")
  .add(HttpApiEndpoint.get("getSyncStatus", "/v1/sync/status").addSuccess(SyncStatus).addError(NotReady))
  .middleware(Authorization) {}

export const ETA_FORMULA = [
  "eta: waiting_rate_limit → the stored time at which its bucket admits it again (lock end or slot expiry);",
  "running, succeeded, failed → null; queued → an estimate from the shared rate budget: of the commands of the",
  "same upstream bucket and budget key (same account, or same OAuth client for client-wide buckets) still queued or",
  "waiting and taken in before it, `ahead`; calls = ceil((ahead + 1) / carry) with carry 100 for the bulk endpoint",
  "(mark_as_read, clear_unread) and 1 otherwise; free = threshold − calls counted now; start = max(now, lock end);",
  "eta = start if calls ≤ free, else start + ceil((calls − free) / threshold) × (window + safety margin); never",
  "earlier than a stored backoff. Coalescing (last-wins runs, bulk merging) and per-chat ordering are not modelled."
].join(" ")

export class CommandsApi extends HttpApiGroup.make("commands")
  .add(
    HttpApiEndpoint.post("submitCommand", "/v1/commands")
      .setPayload(CommandRequest)
      .addSuccess(CommandAccepted)
      .addSuccess(CommandReplayed)
      .addError(Conflict)
      .annotate(
        OpenApi.Description,
        "Takes in one command (body ≤ 1 MiB). Parameters are checked against the reference's limits: a violation is " +
          "a 400 naming the field. A chat not (yet) mirrored is accepted; the upstream decides. The same " +
          "idempotency_key with the same body returns the first command (200); with another body it is a 409."
      )
  )
  .add(
    HttpApiEndpoint.post("submitCommands", "/v1/commands/batch")
      .setPayload(CommandBatchRequest)
      .addSuccess(CommandBatchAccepted)
      .addError(Conflict)
      .annotate(
        OpenApi.Description,
        "1 to 1000 commands, all or nothing: one refused item (400 naming e.g. commands[3].title, or a 409 " +
          "idempotency conflict) stores none of them."
      )
  )
  .add(
    HttpApiEndpoint.get("getCommand", "/v1/commands/:command_id")
      .setPath(CommandPath)
      .addSuccess(CommandSchema)
      .addError(NotFound)
      .annotate(OpenApi.Description, ETA_FORMULA)
  )
  .add(
    HttpApiEndpoint.get("listCommands", "/v1/commands")
      .setUrlParams(ListCommandsParams)
      .addSuccess(CommandPage)
      .annotate(
        OpenApi.Description,
        "Newest first (created_at, then command_id, descending). Keyset-paginated: pass next_cursor back as cursor " +
          "with the same filters until it is null."
      )
  )
  .add(
    HttpApiEndpoint.post("retryCommand", "/v1/commands/:command_id/retry")
      .setPath(CommandPath)
      .addSuccess(CommandAccepted)
      .addError(NotFound)
      .addError(Conflict)
      .annotate(
        OpenApi.Description,
        "Puts a failed command back in the queue (status queued, attempts 0; last_error stays until the next " +
          "attempt). Any other status is a 409 not_retryable."
      )
  )
  .middleware(Authorization) {}

/**
 * Every 400 is rendered by the edge as InvalidParameter, including the platform's own decode errors, so the document
 * shows that shape only.
 */
const documentRenderedErrors = (spec: Record<string, unknown>): Record<string, unknown> => {
  const doc = spec as unknown as OpenApi.OpenAPISpec
  for (const item of Object.values(doc.paths)) {
    for (const operation of [item.get, item.post, item.put, item.patch, item.delete]) {
      if (operation?.responses[400] === undefined) continue
      operation.responses[400] = {
        description: "A parameter broke its rule; `field` names it",
        content: { "application/json": { schema: { $ref: "#/components/schemas/InvalidParameter" } } }
      }
    }
  }
  for (const name of ["HttpApiDecodeError", "Issue", "PropertyKey"]) delete doc.components.schemas[name]
  Object.assign(doc.components.schemas, INTAKE_SCHEMA_DEFINITIONS)
  return spec
}

export class Api extends HttpApi.make("cliq-mirror")
  .add(OpsApi)
  .add(ChatsApi)
  .add(EventsApi)
  .add(SyncApi)
  .add(CommandsApi)
  .add(BulkApi)
  .addError(InvalidParameter)
  .addError(PayloadTooLarge)
  .addError(Internal)
  .addError(NotReady)
  .annotate(OpenApi.Title, "cliq-mirror read API")
  .annotate(OpenApi.Transform, documentRenderedErrors) {}
