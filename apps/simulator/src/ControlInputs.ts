import { CHAT_TYPES as ALL_CHAT_TYPES, type OAuthScope, OPERATION_BY_ID, type OperationId } from "@cliq-mirror/core"
import { ALL_SCOPES, type IssueTokenInput } from "./Auth.js"
import { type CreateChatInput, SimulatorControlError, type UserStateInput } from "./ControlTypes.js"
import type { FaultKind, FaultSpec } from "./Faults.js"
import type { SimChatType } from "./Model.js"

/** A control API body (camelCase JSON); the decoders below throw a 400 naming the field and the rule. */
export type Body = Record<string, unknown>

const CHAT_TYPES = ALL_CHAT_TYPES.filter((t): t is SimChatType => t !== "unknown")
const FAULT_KINDS: ReadonlyArray<FaultKind> = [
  "status",
  "error_code",
  "timeout",
  "invalid_json",
  "wrong_shape",
  "throttle",
  "reset"
]

const bad = (message: string) => new SimulatorControlError(message)

export const opt = <A>(body: Body, name: string, check: (v: unknown) => v is A, rule: string): A | undefined => {
  const value = body[name]
  if (value === undefined) return undefined
  if (!check(value)) throw bad(`${name} must be ${rule}`)
  return value
}
export const req = <A>(body: Body, name: string, check: (v: unknown) => v is A, rule: string): A => {
  const value = opt(body, name, check, rule)
  if (value === undefined) throw bad(`${name} is required (${rule})`)
  return value
}
export const isString = (v: unknown): v is string => typeof v === "string"
export const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v)
const isInt = (v: unknown): v is number => Number.isInteger(v)
export const isBool = (v: unknown): v is boolean => typeof v === "boolean"
export const isStrings = (v: unknown): v is Array<string> => Array.isArray(v) && v.every(isString)
const isChatType = (v: unknown): v is SimChatType => CHAT_TYPES.includes(v as SimChatType)
const isScopes = (v: unknown): v is Array<OAuthScope> =>
  isStrings(v) && v.every(s => ALL_SCOPES.includes(s as OAuthScope))

const defined = <A extends Record<string, unknown>>(record: A): Partial<A> =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Partial<A>

export const since = (query: URLSearchParams) => Number(query.get("since") ?? 0) || 0

export const messageInput = (body: Body) => {
  const senderId = opt(body, "senderId", isString, "a user id")
  const text = opt(body, "text", isString, "a string")
  const atMs = opt(body, "atMs", isInt, "epoch milliseconds")
  return {
    ...(senderId !== undefined ? { senderId } : {}),
    ...(text !== undefined ? { text } : {}),
    ...(atMs !== undefined ? { atMs } : {})
  }
}

export const faultSpec = (body: Body): FaultSpec => {
  const operation = req(body, "operation", isString, 'an operation id or "*"')
  if (operation !== "*" && !Object.hasOwn(OPERATION_BY_ID, operation)) throw bad(`unknown operation ${operation}`)
  const kind = req(body, "kind", (v): v is FaultKind => FAULT_KINDS.includes(v as FaultKind), FAULT_KINDS.join(" | "))
  const when = opt(
    body,
    "when",
    (v): v is "before" | "after_effect" => v === "before" || v === "after_effect",
    "before | after_effect"
  )
  const shape = opt(body, "shape", (v): v is "429" | "400" => v === "429" || v === "400", '"429" | "400"')
  const fields = defined({
    count: opt(body, "count", isInt, "an integer"),
    userIndex: opt(body, "userIndex", isInt, "an integer"),
    status: opt(body, "status", isInt, "an HTTP status"),
    code: opt(body, "code", isString, "an error code"),
    message: opt(body, "message", isString, "a string"),
    holdMs: opt(body, "holdMs", isNumber, "milliseconds"),
    body: body.body,
    when,
    shape
  })
  return { operation: operation as OperationId | "*", kind, ...(fields as Omit<FaultSpec, "operation" | "kind">) }
}

export const createInput = (body: Body): CreateChatInput => ({
  chatType: req(body, "chatType", isChatType, CHAT_TYPES.join(" | ")),
  participantIds: req(body, "participantIds", isStrings, "a list of user ids"),
  ...(defined({
    title: opt(body, "title", isString, "a string"),
    creatorId: opt(body, "creatorId", isString, "a user id"),
    parentChatId: opt(body, "parentChatId", isString, "a chat id"),
    threadMessageId: opt(body, "threadMessageId", isString, "a message id"),
    withMessage: opt(body, "withMessage", (v): v is boolean | string => isBool(v) || isString(v), "a boolean or text")
  }) as Omit<CreateChatInput, "chatType" | "participantIds">)
})

export const userStateInput = (body: Body): UserStateInput => {
  if (body.draft !== undefined && body.draft !== null && !isString(body.draft))
    throw bad("draft must be a string or null")
  return {
    userIndex: req(body, "userIndex", isInt, "an account index"),
    ...(defined({
      pinned: opt(body, "pinned", isBool, "a boolean"),
      muted: opt(body, "muted", isBool, "a boolean"),
      closed: opt(body, "closed", isBool, "a boolean"),
      joined: opt(body, "joined", isBool, "a boolean"),
      draft: body.draft as string | null | undefined
    }) as Omit<UserStateInput, "userIndex">)
  }
}

export const tokenInput = (body: Body): IssueTokenInput => ({
  userIndex: req(body, "userIndex", isInt, "an account index"),
  ...(defined({
    scopes: opt(body, "scopes", isScopes, ALL_SCOPES.join(", ")),
    lifetimeSeconds: opt(body, "lifetimeSeconds", isNumber, "seconds"),
    expired: opt(body, "expired", isBool, "a boolean"),
    token: opt(body, "token", isString, "a string"),
    clientId: opt(body, "clientId", isString, "a string")
  }) as Omit<IssueTokenInput, "userIndex">)
})
