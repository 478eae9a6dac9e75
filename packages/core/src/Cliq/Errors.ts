import { Option, ParseResult, Schema } from "effect"
import { BUCKETS, type BucketId } from "./Buckets.js"
import { OPERATION_BY_ID, type OperationId } from "./Operations.js"

const OperationIdSchema = Schema.String.pipe(Schema.filter((s): s is OperationId => s in OPERATION_BY_ID))
const BucketIdSchema = Schema.String.pipe(Schema.filter((s): s is BucketId => s in BUCKETS))

export class CliqUnauthorized extends Schema.TaggedError<CliqUnauthorized>()("CliqUnauthorized", {
  operation: OperationIdSchema,
  status: Schema.Number,
  message: Schema.String
}) {}

/** Missing scope, or the user is not in the organisation. */
export class CliqForbidden extends Schema.TaggedError<CliqForbidden>()("CliqForbidden", {
  operation: OperationIdSchema,
  status: Schema.Number,
  code: Schema.optional(Schema.String),
  message: Schema.String
}) {}

/** An unknown URL; unknown chats come back as `chat_access_denied` instead (CliqPermanent). */
export class CliqNotFound extends Schema.TaggedError<CliqNotFound>()("CliqNotFound", {
  operation: OperationIdSchema,
  status: Schema.Number,
  message: Schema.String
}) {}

/**
 * 429, or any status with `request_limit_exceeded`. `retryAfterMs` / `lockedUntil` (epoch ms) only when the upstream
 * sent Retry-After, which it is not documented to do: the bucket's lock period applies either way.
 */
export class CliqThrottled extends Schema.TaggedError<CliqThrottled>()("CliqThrottled", {
  operation: OperationIdSchema,
  bucket: BucketIdSchema,
  status: Schema.Number,
  code: Schema.optional(Schema.String),
  retryAfterMs: Schema.optional(Schema.Number),
  lockedUntil: Schema.optional(Schema.Number),
  message: Schema.String
}) {}

/** The upstream refused this payload for good; `code` is the upstream code, or `http_<status>` when it sent none. */
export class CliqPermanent extends Schema.TaggedError<CliqPermanent>()("CliqPermanent", {
  operation: OperationIdSchema,
  status: Schema.Number,
  code: Schema.String,
  message: Schema.String
}) {}

export const RETRY_REASONS = ["status", "code", "timeout", "reset", "transport"] as const

/**
 * Worth another attempt later. `outcomeUnknown`: the request may have reached the upstream and taken effect (a
 * timeout or reset after sending), so a non-idempotent operation must not simply be repeated.
 */
export class CliqRetryable extends Schema.TaggedError<CliqRetryable>()("CliqRetryable", {
  operation: OperationIdSchema,
  status: Schema.optional(Schema.Number),
  code: Schema.optional(Schema.String),
  reason: Schema.Literal(...RETRY_REASONS),
  outcomeUnknown: Schema.Boolean,
  message: Schema.String
}) {}

/** A 2xx body that does not match its schema; `sample` is the offending value, secrets masked and truncated. */
export class CliqDecodeError extends Schema.TaggedError<CliqDecodeError>()("CliqDecodeError", {
  operation: OperationIdSchema,
  status: Schema.Number,
  path: Schema.String,
  sample: Schema.String,
  message: Schema.String
}) {}

/** A request that breaks a published limit; it was never sent. */
export class CliqInvalidRequest extends Schema.TaggedError<CliqInvalidRequest>()("CliqInvalidRequest", {
  operation: OperationIdSchema,
  path: Schema.String,
  message: Schema.String
}) {}

/** The refresh token was refused (`invalid_grant`, …): nothing works until an operator configures new credentials. */
export class CliqNeedsReauth extends Schema.TaggedError<CliqNeedsReauth>()("CliqNeedsReauth", {
  accountId: Schema.String,
  reason: Schema.String,
  message: Schema.String
}) {}

export const TOKEN_UNAVAILABLE_REASONS = ["quota", "transport", "server", "lock_timeout", "store"] as const

/** No access token could be had for now; `retryAt` (epoch ms) when the mint quota says when. */
export class CliqTokenUnavailable extends Schema.TaggedError<CliqTokenUnavailable>()("CliqTokenUnavailable", {
  accountId: Schema.String,
  reason: Schema.Literal(...TOKEN_UNAVAILABLE_REASONS),
  retryAt: Schema.optional(Schema.Number),
  message: Schema.String
}) {}

export type CliqAuthError = CliqNeedsReauth | CliqTokenUnavailable
export type CliqError =
  | CliqUnauthorized
  | CliqForbidden
  | CliqNotFound
  | CliqThrottled
  | CliqPermanent
  | CliqRetryable
  | CliqDecodeError
  | CliqInvalidRequest
  | CliqAuthError

export const CliqErrorSchema = Schema.Union(
  CliqUnauthorized,
  CliqForbidden,
  CliqNotFound,
  CliqThrottled,
  CliqPermanent,
  CliqRetryable,
  CliqDecodeError,
  CliqInvalidRequest,
  CliqNeedsReauth,
  CliqTokenUnavailable
)

export type CliqErrorClass = "retryable" | "rate_limited" | "permanent" | "auth"

export const classify = (e: CliqError): CliqErrorClass => {
  switch (e._tag) {
    case "CliqThrottled":
      return "rate_limited"
    case "CliqRetryable":
    case "CliqTokenUnavailable":
      return "retryable"
    case "CliqUnauthorized":
    case "CliqForbidden":
    case "CliqNeedsReauth":
      return "auth"
    case "CliqPermanent":
    case "CliqNotFound":
    case "CliqDecodeError":
    case "CliqInvalidRequest":
      return "permanent"
  }
}

/** The `{code, message}` a command keeps as `last_error`. */
export const toErrorInfo = (e: CliqError): { readonly code: string; readonly message: string } => {
  switch (e._tag) {
    case "CliqUnauthorized":
      return { code: "unauthorized", message: e.message }
    case "CliqForbidden":
      return { code: e.code ?? "forbidden", message: e.message }
    case "CliqNotFound":
      return { code: "not_found", message: e.message }
    case "CliqThrottled":
      return { code: e.code ?? "rate_limited", message: e.message }
    case "CliqPermanent":
      return { code: e.code, message: e.message }
    case "CliqRetryable":
      return { code: e.code ?? (e.reason === "status" ? `http_${e.status}` : e.reason), message: e.message }
    case "CliqDecodeError":
      return { code: "upstream_decode_error", message: e.message }
    case "CliqInvalidRequest":
      return { code: "invalid_request", message: e.message }
    case "CliqNeedsReauth":
      return { code: "needs_reauthorisation", message: e.message }
    case "CliqTokenUnavailable":
      return { code: "token_unavailable", message: e.message }
  }
}

const ErrorBodyJson = Schema.parseJson(
  Schema.Struct({ message: Schema.optional(Schema.String), code: Schema.optional(Schema.String) })
)

/** Retry-After as a duration in ms: delta-seconds or an HTTP date. */
const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined || value.trim() === "") return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * Classifies a non-2xx answer (CLIQ_API.md §3.3, §3.4). The code decides before the status: a 400 may be a throttle
 * (`request_limit_exceeded`) or retryable (`*_failed`).
 */
export const classifyResponse = (
  operation: OperationId,
  response: { readonly status: number; readonly body: string; readonly retryAfter?: string | undefined },
  now: number
): CliqError => {
  const { status } = response
  const parsed = Option.getOrUndefined(Schema.decodeUnknownOption(ErrorBodyJson)(response.body))
  const code = parsed?.code
  const upstream = parsed?.message ?? `HTTP ${status}`
  const message = `${operation}: ${upstream}${code ? ` (${code})` : ""}`
  const codeField = code === undefined ? {} : { code }
  if (status === 429 || code === "request_limit_exceeded") {
    const retryAfterMs = parseRetryAfter(response.retryAfter, now)
    return new CliqThrottled({
      operation,
      bucket: OPERATION_BY_ID[operation].bucket,
      status,
      ...codeField,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs, lockedUntil: now + retryAfterMs }),
      message
    })
  }
  if (status === 401) return new CliqUnauthorized({ operation, status, message })
  if (code !== undefined && (code.endsWith("_failed") || code === "service_unavailable")) {
    return new CliqRetryable({ operation, status, code, reason: "code", outcomeUnknown: false, message })
  }
  if (status >= 500 || status === 408) {
    return new CliqRetryable({ operation, status, ...codeField, reason: "status", outcomeUnknown: false, message })
  }
  if (status === 403) return new CliqForbidden({ operation, status, ...codeField, message })
  if (status === 404 && code === undefined) return new CliqNotFound({ operation, status, message })
  return new CliqPermanent({ operation, status, code: code ?? `http_${status}`, message })
}

const NEVER_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT"
])
const RESET = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "ECONNABORTED", "UND_ERR_CLOSED"])

/** The first `code` along an error's `cause` chain (Node's socket errors, a driver's error wrapped by a library). */
export const errorCodeOf = (cause: unknown): string | undefined => {
  for (let current = cause, depth = 0; typeof current === "object" && current !== null && depth < 5; depth++) {
    const record = current as { readonly code?: unknown; readonly cause?: unknown; readonly errors?: unknown }
    if (typeof record.code === "string") return record.code
    // Happy-eyeballs connects fail with an AggregateError of per-address errors.
    if (Array.isArray(record.errors)) return errorCodeOf(record.errors[0])
    current = record.cause
  }
  return undefined
}

/**
 * A failure below HTTP. Refused connections and failed lookups never reached the upstream; anything else (resets,
 * sockets closed mid-answer, unknown causes) may have, so the outcome is unknown.
 */
export const classifyTransport = (operation: OperationId, cause: unknown): CliqRetryable => {
  const code = errorCodeOf(cause)
  const neverSent = code !== undefined && NEVER_SENT.has(code)
  const reset = code !== undefined && RESET.has(code)
  return new CliqRetryable({
    operation,
    reason: reset ? "reset" : "transport",
    outcomeUnknown: !neverSent,
    message: `${operation}: ${reset ? "connection reset" : neverSent ? "connection failed" : "transport error"}${code ? ` (${code})` : ""}`
  })
}

export const timedOut = (operation: OperationId, afterMs: number): CliqRetryable =>
  new CliqRetryable({
    operation,
    reason: "timeout",
    outcomeUnknown: true,
    message: `${operation}: no complete answer within ${afterMs} ms`
  })

const SECRET_KEY = /token|secret|password|authori[sz]ation|cookie/i
const SAMPLE_MAX = 200

const mask = (value: unknown, depth = 0): unknown => {
  if (depth > 8 || typeof value !== "object" || value === null) return value
  if (Array.isArray(value)) return value.map(v => mask(v, depth + 1))
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? "<redacted>" : mask(v, depth + 1)])
  )
}

/** A short JSON rendering with token-like keys masked, safe to log and persist. */
export const redactSample = (value: unknown): string => {
  const json = JSON.stringify(mask(value)) ?? String(value)
  return json.length > SAMPLE_MAX ? `${json.slice(0, SAMPLE_MAX)}…` : json
}

export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("")

const valueAt = (value: unknown, path: ReadonlyArray<PropertyKey>): unknown =>
  path.reduce<unknown>(
    (v, key) => (typeof v === "object" && v !== null ? (v as Record<PropertyKey, unknown>)[key] : undefined),
    value
  )

/** The first issue of a failed decode, as a field path and message. */
export const firstIssue = (error: ParseResult.ParseError): { readonly path: string; readonly message: string } => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  return { path: formatPath(issue?.path ?? []), message: issue?.message ?? "is invalid" }
}

export const decodeFailure = (
  operation: OperationId,
  status: number,
  body: unknown,
  error: ParseResult.ParseError,
  prefix: ReadonlyArray<PropertyKey> = []
): CliqDecodeError => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  const path = [...prefix, ...(issue?.path ?? [])]
  const at = formatPath(path)
  const message = issue?.message ?? "is invalid"
  return new CliqDecodeError({
    operation,
    status,
    path: at,
    sample: redactSample(valueAt(body, path)),
    message: `${operation}: unexpected response at ${at === "" ? "<body>" : at}: ${message}`
  })
}
