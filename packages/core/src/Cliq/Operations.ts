import type { BucketId } from "./Buckets.js"

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE"

export type OAuthScope =
  | "ZohoCliq.Chats.READ"
  | "ZohoCliq.Chats.CREATE"
  | "ZohoCliq.Chats.UPDATE"
  | "ZohoCliq.Chats.DELETE"
  | "ZohoCliq.Messages.UPDATE"

/** Which body field picks the variant when several operations share one method and path. */
export interface Selector {
  readonly field: "operation" | "chat_type"
  readonly values: ReadonlyArray<string>
}

export interface Operation {
  readonly id: OperationId
  readonly method: HttpMethod
  /** Real path under /api/v3; `{chat_id}` is the only template parameter. */
  readonly path: "/chats" | "/chats/search" | "/chats/{chat_id}" | `/chats/{chat_id}/${string}`
  readonly selector?: Selector
  readonly bucket: BucketId
  /** Any one of these scopes authorises the call. */
  readonly scopes: ReadonlyArray<OAuthScope>
  /** Mutations that are not safe to repeat blindly when their outcome is unknown. */
  readonly idempotent: boolean
}

const READ: ReadonlyArray<OAuthScope> = ["ZohoCliq.Chats.READ"]
const CREATE: ReadonlyArray<OAuthScope> = ["ZohoCliq.Chats.CREATE"]
const UPDATE: ReadonlyArray<OAuthScope> = ["ZohoCliq.Chats.UPDATE"]
const UPDATE_OR_MESSAGES: ReadonlyArray<OAuthScope> = ["ZohoCliq.Chats.UPDATE", "ZohoCliq.Messages.UPDATE"]

const op = <const Id extends string>(
  id: Id,
  method: HttpMethod,
  path: Operation["path"],
  bucket: BucketId,
  scopes: ReadonlyArray<OAuthScope>,
  idempotent: boolean,
  selector?: Selector
) => ({ id, method, path, bucket, scopes, idempotent, ...(selector ? { selector } : {}) })

const operation = (...values: ReadonlyArray<string>): Selector => ({ field: "operation", values })

/** Every operation of docs/upstream.md#operations, in its order. */
export const OPERATIONS = [
  op("listChats", "GET", "/chats", "chats.list", READ, true),
  op("createChat", "POST", "/chats", "chats.create", CREATE, false, {
    field: "chat_type",
    values: ["direct_message", "group_chat"]
  }),
  op("bulkReadStatusUpdate", "PUT", "/chats", "chats.bulk_update", UPDATE, true, operation("read_status_update")),
  op("bulkClearUnread", "PUT", "/chats", "chats.bulk_update", UPDATE, true, operation("clear_unread")),
  op("searchChats", "GET", "/chats/search", "chats.search", READ, true),
  op("getChat", "GET", "/chats/{chat_id}", "chats.get", READ, true),
  op("updateTitle", "PUT", "/chats/{chat_id}", "chats.update", UPDATE, true, operation("update_title")),
  op(
    "updateHistoryStatus",
    "PUT",
    "/chats/{chat_id}",
    "chats.update",
    UPDATE,
    true,
    operation("update_history_status")
  ),
  op("markAsRead", "PUT", "/chats/{chat_id}", "chats.update", UPDATE_OR_MESSAGES, true, operation("mark_as_read")),
  op("markAsUnread", "PUT", "/chats/{chat_id}", "chats.update", UPDATE_OR_MESSAGES, true, operation("mark_as_unread")),
  op("clearLocalHistory", "PUT", "/chats/{chat_id}", "chats.update", UPDATE, true, operation("clear_local_history")),
  op("closeChat", "PUT", "/chats/{chat_id}", "chats.update", UPDATE, true, operation("close_chat")),
  op("listMembers", "GET", "/chats/{chat_id}/members", "members.list", READ, true),
  op("addMembers", "POST", "/chats/{chat_id}/members", "members.add", UPDATE, false),
  op("removeMembers", "DELETE", "/chats/{chat_id}/members", "members.remove", ["ZohoCliq.Chats.DELETE"], false),
  op("forkChat", "POST", "/chats/{chat_id}/forks", "chats.fork", CREATE, false),
  op("sendTyping", "POST", "/chats/{chat_id}/activities", "chats.activities", UPDATE, true),
  op("leaveChat", "POST", "/chats/{chat_id}/leave", "chats.leave", UPDATE, false),
  op("muteChat", "POST", "/chats/{chat_id}/mute", "chats.mute", UPDATE, true),
  op("unmuteChat", "POST", "/chats/{chat_id}/unmute", "chats.unmute", UPDATE, true)
] as const satisfies ReadonlyArray<Omit<Operation, "id"> & { readonly id: string }>

export type OperationId = (typeof OPERATIONS)[number]["id"]

export const OPERATION_BY_ID: Readonly<Record<OperationId, Operation>> = Object.fromEntries(
  OPERATIONS.map(o => [o.id, o as Operation])
) as Record<OperationId, Operation>

export const operationPath = (operation: Operation, chatId?: string): string =>
  operation.path.replace("{chat_id}", encodeURIComponent(chatId ?? ""))

/** The operation a request addresses: method, path shape and (for shared endpoints) the body's selector field. */
export const resolveOperation = (
  method: string,
  pathShape: Operation["path"],
  body: unknown
): Operation | undefined => {
  const candidates = OPERATIONS.filter(o => o.method === method && o.path === pathShape) as ReadonlyArray<Operation>
  if (candidates.length <= 1) return candidates[0]
  const record = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {}
  return candidates.find(o => o.selector?.values.includes(String(record[o.selector.field])))
}

/** Operations sharing a method and path share a bucket, so a request counts even when its selector is bad. */
export const endpointBucket = (method: string, pathShape: Operation["path"]): BucketId | undefined =>
  OPERATIONS.find(o => o.method === method && o.path === pathShape)?.bucket
