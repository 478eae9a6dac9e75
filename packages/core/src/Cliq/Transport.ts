import { Predicate } from "effect"
import { CliqRetryable } from "./Errors.js"
import type { OperationId } from "./Operations.js"

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
  for (let current = cause, depth = 0; Predicate.isObject(current) && depth < 5; depth++) {
    if (Predicate.hasProperty(current, "code") && typeof current.code === "string") return current.code
    // Happy-eyeballs connects fail with an AggregateError of per-address errors.
    if (Predicate.hasProperty(current, "errors") && Array.isArray(current.errors)) return errorCodeOf(current.errors[0])
    current = Predicate.hasProperty(current, "cause") ? current.cause : undefined
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
