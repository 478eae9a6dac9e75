import { Either, Schema } from "effect"
import type { BucketId } from "../Cliq/Buckets.js"
import { OPERATION_BY_ID, type OperationId } from "../Cliq/Operations.js"
import { firstIssue } from "../Cliq/ParseIssue.js"
import { Limits } from "../Cliq/Requests.js"

// PostgreSQL text cannot hold NUL: refused here with the field's name rather than failing the insert.
const noNul = <S extends Schema.Schema<string, string, never>>(self: S) =>
  self.pipe(Schema.filter(s => !s.includes("\u0000"), { message: () => "must not contain NUL characters" }))

const Id = (what: string) =>
  Schema.String.pipe(
    Schema.filter(s => s.trim().length > 0 && s.length <= 128, {
      message: () => `must be a ${what} of 1 to 128 characters`
    }),
    noNul
  )
const ChatIdParam = Id("chat id")
const MessageIdParam = Id("message id")
const UserIdParam = Id("user id")
const Title = Schema.String.pipe(
  Schema.filter(s => s.trim().length >= 1 && s.length <= Limits.titleMax, {
    message: () => `must be 1 to ${Limits.titleMax} characters and not blank`
  }),
  noNul
)
const userIds = (max: number) =>
  Schema.Array(UserIdParam).pipe(
    Schema.filter(a => a.length >= 1 && a.length <= max, { message: () => `must hold 1 to ${max} user ids` }),
    Schema.filter(a => new Set(a).size === a.length, { message: () => "must not repeat a user id" })
  )

const chatOnly = { chat_id: ChatIdParam }

/** Parameters of every command type (docs/api.md#command-types), checked at intake. */
export const COMMAND_PARAMS = {
  mark_as_read: Schema.Struct({ ...chatOnly, last_message_id: MessageIdParam }),
  mark_as_unread: Schema.Struct({ ...chatOnly, message_id: MessageIdParam }),
  clear_unread: Schema.Struct({
    chat_ids: Schema.Array(ChatIdParam).pipe(
      Schema.filter(a => a.length >= 1 && a.length <= Limits.bulkChatsMax, {
        message: () => `must hold 1 to ${Limits.bulkChatsMax} chat ids`
      })
    )
  }),
  update_title: Schema.Struct({ ...chatOnly, title: Title }),
  update_history_status: Schema.Struct({ ...chatOnly, history_status: Schema.Literal("enabled", "disabled") }),
  clear_local_history: Schema.Struct(chatOnly),
  close_chat: Schema.Struct(chatOnly),
  add_members: Schema.Struct({ ...chatOnly, user_ids: userIds(Limits.addMembersMax) }),
  remove_members: Schema.Struct({ ...chatOnly, user_ids: userIds(Limits.addMembersMax) }),
  create_chat: Schema.Union(
    Schema.Struct({ chat_type: Schema.Literal("direct_message"), user_id: UserIdParam }),
    Schema.Struct({
      chat_type: Schema.Literal("group_chat"),
      user_ids: userIds(Limits.groupUserIdsMax),
      title: Title
    })
  ),
  fork_chat: Schema.Union(
    Schema.Struct({ ...chatOnly, message_id: MessageIdParam, title: Title, user_ids: userIds(Limits.addMembersMax) }),
    Schema.Struct({ ...chatOnly, message_id: MessageIdParam, title: Title, include_participants: Schema.Literal(true) })
  ),
  leave_chat: Schema.Struct(chatOnly),
  mute_chat: Schema.Struct(chatOnly),
  unmute_chat: Schema.Struct(chatOnly)
} as const

export type CommandType = keyof typeof COMMAND_PARAMS

/** The upstream operation each command type is sent as (mark_as_read and clear_unread go out in bulk). */
export const COMMAND_OPERATION: Readonly<Record<CommandType, OperationId>> = {
  mark_as_read: "bulkReadStatusUpdate",
  mark_as_unread: "markAsUnread",
  clear_unread: "bulkClearUnread",
  update_title: "updateTitle",
  update_history_status: "updateHistoryStatus",
  clear_local_history: "clearLocalHistory",
  close_chat: "closeChat",
  add_members: "addMembers",
  remove_members: "removeMembers",
  create_chat: "createChat",
  fork_chat: "forkChat",
  leave_chat: "leaveChat",
  mute_chat: "muteChat",
  unmute_chat: "unmuteChat"
}

export const commandBucket = (type: CommandType): BucketId => OPERATION_BY_ID[COMMAND_OPERATION[type]].bucket
export const COMMAND_TYPES = Object.keys(COMMAND_PARAMS) as ReadonlyArray<CommandType>
export type CommandParams<T extends CommandType = CommandType> = (typeof COMMAND_PARAMS)[T]["Type"]

export type Command = { [T in CommandType]: { readonly type: T; readonly params: CommandParams<T> } }[CommandType]

const variant = <T extends CommandType, P extends Schema.Schema.AnyNoContext>(type: T, params: P) =>
  Schema.Struct({ type: Schema.Literal(type), params })

/** A command as stored (`type` + `params`): decoded with this at every storage boundary. */
export const CommandSchema: Schema.Schema<Command> = Schema.Union(
  variant("mark_as_read", COMMAND_PARAMS.mark_as_read),
  variant("mark_as_unread", COMMAND_PARAMS.mark_as_unread),
  variant("clear_unread", COMMAND_PARAMS.clear_unread),
  variant("update_title", COMMAND_PARAMS.update_title),
  variant("update_history_status", COMMAND_PARAMS.update_history_status),
  variant("clear_local_history", COMMAND_PARAMS.clear_local_history),
  variant("close_chat", COMMAND_PARAMS.close_chat),
  variant("add_members", COMMAND_PARAMS.add_members),
  variant("remove_members", COMMAND_PARAMS.remove_members),
  variant("create_chat", COMMAND_PARAMS.create_chat),
  variant("fork_chat", COMMAND_PARAMS.fork_chat),
  variant("leave_chat", COMMAND_PARAMS.leave_chat),
  variant("mute_chat", COMMAND_PARAMS.mute_chat),
  variant("unmute_chat", COMMAND_PARAMS.unmute_chat)
)

export const COMMAND_STATUSES = [
  "queued",
  "waiting_rate_limit",
  "waiting_reauth",
  "running",
  "succeeded",
  "failed",
  "cancelled"
] as const
export type CommandStatus = (typeof COMMAND_STATUSES)[number]
export const CommandStatusSchema = Schema.Literal(...COMMAND_STATUSES)

/** Nothing happens to a command in one of these any more (a failed one only by an operator's retry). */
export const FINAL_STATUSES = ["succeeded", "failed", "cancelled"] as const satisfies ReadonlyArray<CommandStatus>
export const isFinal = (status: CommandStatus): boolean => (FINAL_STATUSES as ReadonlyArray<string>).includes(status)

export interface CommandInput {
  readonly command: Command
  readonly accountId: string | undefined
  readonly idempotencyKey: string | undefined
}

/** A refused command: the field (dotted path into the request body) and the rule it broke. */
export interface InvalidField {
  readonly field: string
  readonly message: string
}

const ENVELOPE_KEYS = new Set(["type", "account_id", "idempotency_key"])
const ACCOUNT_ID = /^[A-Za-z0-9_-]{1,64}$/

/**
 * Reads one command request body `{ type, account_id?, idempotency_key?, ...parameters }`. Unknown keys are refused
 * so that a misspelt parameter is not silently ignored.
 */
export const parseCommand = (body: unknown): Either.Either<CommandInput, InvalidField> => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return Either.left({ field: "body", message: "must be a JSON object" })
  }
  const record = body as Record<string, unknown>
  const type = record.type
  if (typeof type !== "string" || !(COMMAND_TYPES as ReadonlyArray<string>).includes(type)) {
    return Either.left({ field: "type", message: `must be one of ${COMMAND_TYPES.join(", ")}` })
  }
  const accountId = record.account_id
  if (accountId !== undefined && (typeof accountId !== "string" || !ACCOUNT_ID.test(accountId))) {
    return Either.left({ field: "account_id", message: "must be 1 to 64 letters, digits, '_' or '-'" })
  }
  const key = record.idempotency_key
  if (key !== undefined && (typeof key !== "string" || key.length < 1 || key.length > 200 || key.includes("\u0000"))) {
    return Either.left({ field: "idempotency_key", message: "must be a string of 1 to 200 characters" })
  }
  const params: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(record)) if (!ENVELOPE_KEYS.has(k)) params[k] = v
  return Schema.decodeUnknownEither(CommandSchema, { onExcessProperty: "error" })({ type, params }).pipe(
    Either.mapLeft(e => {
      const issue = firstIssue(e)
      const field = issue.path.replace(/^params\.?/, "")
      return { field: field === "" ? "body" : field, message: issue.message }
    }),
    Either.map(command => ({
      command,
      accountId: typeof accountId === "string" ? accountId : undefined,
      idempotencyKey: typeof key === "string" ? key : undefined
    }))
  )
}

/** The chat a command acts on: commands on one chat run in intake order. */
export const commandChatId = (command: Command): string | null =>
  "chat_id" in command.params ? command.params.chat_id : null

/** Every chat a command acts on (clear_unread names several): it waits for the unfinished commands on each. */
export const commandChatIds = (command: Command): ReadonlyArray<string> =>
  command.type === "clear_unread"
    ? command.params.chat_ids
    : "chat_id" in command.params
      ? [command.params.chat_id]
      : []
