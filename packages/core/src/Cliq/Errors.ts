import { Schema } from "effect"
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
