import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/** The contract's error envelope: `{ "error": { "code", "message", "field"? } }`. */
export const ErrorBody = Schema.Struct({
  code: Schema.String,
  message: Schema.String,
  field: Schema.optional(Schema.String)
})

export class InvalidParameter extends Schema.Class<InvalidParameter>("InvalidParameter")(
  { error: ErrorBody },
  HttpApiSchema.annotations({ status: 400, description: "A parameter broke its rule; `field` names it" })
) {
  static of(field: string, rule: string) {
    return new InvalidParameter({ error: { code: "invalid_parameter", message: `${field}: ${rule}`, field } })
  }
}

export class Unauthorized extends Schema.Class<Unauthorized>("Unauthorized")(
  { error: ErrorBody },
  HttpApiSchema.annotations({ status: 401, description: "Missing or unknown bearer token" })
) {
  static of(message: string) {
    return new Unauthorized({ error: { code: "unauthorized", message } })
  }
}

export class NotFound extends Schema.Class<NotFound>("NotFound")(
  { error: ErrorBody },
  HttpApiSchema.annotations({ status: 404 })
) {
  static of(message: string) {
    return new NotFound({ error: { code: "not_found", message } })
  }
}

export class PayloadTooLarge extends Schema.Class<PayloadTooLarge>("PayloadTooLarge")(
  { error: ErrorBody },
  HttpApiSchema.annotations({ status: 413 })
) {
  static of(message: string) {
    return new PayloadTooLarge({ error: { code: "payload_too_large", message } })
  }
}

export type ConflictCode = "idempotency_conflict" | "not_retryable"

export class Conflict extends Schema.Class<Conflict>("Conflict")(
  { error: ErrorBody },
  HttpApiSchema.annotations({
    status: 409,
    description: "idempotency_conflict: the key was used with another body; not_retryable: the command has not failed"
  })
) {
  static of(code: ConflictCode, message: string, field?: string) {
    return new Conflict({ error: field === undefined ? { code, message } : { code, message, field } })
  }
}

export class Internal extends Schema.Class<Internal>("Internal")(
  { error: ErrorBody },
  HttpApiSchema.annotations({ status: 500 })
) {
  static readonly instance = new Internal({ error: { code: "internal", message: "internal error" } })
}

export class NotReady extends Schema.Class<NotReady>("NotReady")(
  { error: ErrorBody },
  HttpApiSchema.annotations({ status: 503, description: "A dependency (Postgres or Redis) does not answer" })
) {
  static of(message: string) {
    return new NotReady({ error: { code: "not_ready", message } })
  }
}

export type ApiError = InvalidParameter | Unauthorized | NotFound | Conflict | PayloadTooLarge | Internal | NotReady

export const statusOf = (error: ApiError): number =>
  error instanceof InvalidParameter
    ? 400
    : error instanceof Unauthorized
      ? 401
      : error instanceof NotFound
        ? 404
        : error instanceof Conflict
          ? 409
          : error instanceof PayloadTooLarge
            ? 413
            : error instanceof NotReady
              ? 503
              : 500

export const isApiError = (u: unknown): u is ApiError =>
  u instanceof InvalidParameter ||
  u instanceof Unauthorized ||
  u instanceof NotFound ||
  u instanceof Conflict ||
  u instanceof PayloadTooLarge ||
  u instanceof Internal ||
  u instanceof NotReady
