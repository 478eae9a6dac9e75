import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/** The contract's error envelope: `{ "error": { "code", "message", "field"? } }`. */
export const ErrorBody = Schema.Struct({
  code: Schema.String,
  message: Schema.String,
  field: Schema.optional(Schema.String)
})

/**
 * Every error the API renders. A subclass declares its status once, in its `HttpApiSchema` annotation: the OpenAPI
 * document and the edge (`statusOf`) both read it from there.
 */
export class ApiError extends Schema.Class<ApiError>("ApiError")({ error: ErrorBody }) {}

export class InvalidParameter extends ApiError.extend<InvalidParameter>("InvalidParameter")(
  {},
  HttpApiSchema.annotations({ status: 400, description: "A parameter broke its rule; `field` names it" })
) {
  static of(field: string, rule: string) {
    return new InvalidParameter({ error: { code: "invalid_parameter", message: `${field}: ${rule}`, field } })
  }
}

export class Unauthorized extends ApiError.extend<Unauthorized>("Unauthorized")(
  {},
  HttpApiSchema.annotations({ status: 401, description: "Missing or unknown bearer token" })
) {
  static of(message: string) {
    return new Unauthorized({ error: { code: "unauthorized", message } })
  }
}

export class NotFound extends ApiError.extend<NotFound>("NotFound")({}, HttpApiSchema.annotations({ status: 404 })) {
  static of(message: string) {
    return new NotFound({ error: { code: "not_found", message } })
  }
}

export class PayloadTooLarge extends ApiError.extend<PayloadTooLarge>("PayloadTooLarge")(
  {},
  HttpApiSchema.annotations({ status: 413 })
) {
  static of(message: string) {
    return new PayloadTooLarge({ error: { code: "payload_too_large", message } })
  }
}

export type ConflictCode = "idempotency_conflict" | "not_retryable" | "not_cancellable"

export class Conflict extends ApiError.extend<Conflict>("Conflict")(
  {},
  HttpApiSchema.annotations({
    status: 409,
    description: "idempotency_conflict: the key was used with another body; not_retryable: the command has not failed"
  })
) {
  static of(code: ConflictCode, message: string, field?: string) {
    return new Conflict({ error: field === undefined ? { code, message } : { code, message, field } })
  }
}

export class Internal extends ApiError.extend<Internal>("Internal")({}, HttpApiSchema.annotations({ status: 500 })) {
  static readonly instance = new Internal({ error: { code: "internal", message: "internal error" } })
}

export class NotReady extends ApiError.extend<NotReady>("NotReady")(
  {},
  HttpApiSchema.annotations({ status: 503, description: "A dependency (Postgres or Redis) does not answer" })
) {
  static of(message: string) {
    return new NotReady({ error: { code: "not_ready", message } })
  }
}

export const isApiError = (u: unknown): u is ApiError => u instanceof ApiError

/** The status declared by the error's class annotation. */
export const statusOf = (error: ApiError): number =>
  Schema.isSchema(error.constructor) ? HttpApiSchema.getStatusError(error.constructor) : 500
