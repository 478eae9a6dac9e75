import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Authorization } from "./Auth.js"
import { ChatPage, Chat as ChatSchema, MembersPage } from "./Dto/Chat.js"
import { EventPage } from "./Dto/Event.js"
import { Health, Ready } from "./Dto/Ops.js"
import { SyncStatus } from "./Dto/SyncStatus.js"
import { Internal, InvalidParameter, NotFound, NotReady, PayloadTooLarge } from "./Errors.js"
import { ChatLookupParams, ChatPath, EventsParams, ListChatsParams } from "./Params.js"

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
  return spec
}

export class Api extends HttpApi.make("cliq-mirror")
  .add(OpsApi)
  .add(ChatsApi)
  .add(EventsApi)
  .add(SyncApi)
  .addError(InvalidParameter)
  .addError(PayloadTooLarge)
  .addError(Internal)
  .annotate(OpenApi.Title, "cliq-mirror read API")
  .annotate(OpenApi.Transform, documentRenderedErrors) {}
