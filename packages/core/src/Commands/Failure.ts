import { type CliqError, classify, toErrorInfo } from "../Cliq/Errors.js"
import type { RateBudgetError } from "../RateLimit/RateBudget.js"

export interface ErrorInfo {
  readonly code: string
  readonly message: string
}

export type AttemptError = CliqError | RateBudgetError

/**
 * What a failed call means for a command, on top of the client's `classify`: a throttle waits for its bucket, revoked
 * credentials wait for new ones, an answer that may have taken effect (timeout or reset after sending, a 2xx body that
 * does not decode) is retried only after a check, and a refusal no retry can change fails the command.
 */
export type FailureKind = "throttled" | "reauth" | "retry" | "unknown_outcome" | "permanent"

export const failureKind = (e: AttemptError): FailureKind => {
  if (e._tag === "RateBudgetError") return "retry"
  switch (classify(e)) {
    case "rate_limited":
      return "throttled"
    case "retryable":
      return e._tag === "CliqRetryable" && e.outcomeUnknown ? "unknown_outcome" : "retry"
    case "auth":
      return e._tag === "CliqNeedsReauth" ? "reauth" : e._tag === "CliqUnauthorized" ? "retry" : "permanent"
    case "permanent":
      return e._tag === "CliqDecodeError" ? "unknown_outcome" : "permanent"
  }
}

export const errorInfo = (e: AttemptError): ErrorInfo =>
  e._tag === "RateBudgetError" ? { code: "rate_budget_unavailable", message: e.message } : toErrorInfo(e)
