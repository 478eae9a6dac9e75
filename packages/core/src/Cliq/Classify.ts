import { Option, Schema } from "effect"
import {
  type CliqError,
  CliqForbidden,
  CliqNotFound,
  CliqPermanent,
  CliqRetryable,
  CliqThrottled,
  CliqUnauthorized
} from "./Errors.js"
import { OPERATION_BY_ID, type OperationId } from "./Operations.js"
import { parseRetryAfter } from "./RetryAfter.js"

const ErrorBodyJson = Schema.parseJson(
  Schema.Struct({ message: Schema.optional(Schema.String), code: Schema.optional(Schema.String) })
)

/**
 * Classifies a non-2xx answer (docs/upstream.md#error-classes). The code decides before the status: a 400 may be a throttle
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
