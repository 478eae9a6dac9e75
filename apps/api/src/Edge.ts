import { formatPath } from "@cliq-mirror/core"
import { isDatabaseUnavailable } from "@cliq-mirror/db"
import {
  HttpApi,
  HttpApiBuilder,
  HttpApiError,
  HttpIncomingMessage,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { Cause, Effect, Option } from "effect"
import { Api } from "./Api.js"
import {
  type ApiError,
  Internal,
  InvalidParameter,
  isApiError,
  NotFound,
  NotReady,
  PayloadTooLarge,
  statusOf
} from "./Errors.js"
import { countRequest } from "./Metrics.js"

export const MAX_BODY_BYTES = 1024 * 1024

/** An API error as the contract renders it, with the status its class declares. */
export const renderError = (error: ApiError) =>
  HttpServerResponse.unsafeJson({ error: error.error }, { status: statusOf(error) })

/** The first issue names the field: a parameter, or a path into the body (`commands[3].title`; `body` for all of it). */
const fromDecodeError = (error: HttpApiError.HttpApiDecodeError): ApiError => {
  const issue = error.issues[0]
  const path = issue?.path ?? []
  return InvalidParameter.of(path.length === 0 ? "body" : formatPath(path), issue?.message ?? error.message)
}

const isBodyTooLarge = (u: unknown) =>
  HttpServerError.isServerError(u) &&
  u._tag === "RequestError" &&
  u.cause instanceof Error &&
  u.cause.message === "maxBytes exceeded"

const pathOf = (url: string) => {
  const query = url.indexOf("?")
  return query === -1 ? url : url.slice(0, query)
}

const toApiError = (cause: Cause.Cause<unknown>): Option.Option<ApiError> => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const e = failure.value
    if (isApiError(e)) return Option.some(e)
    if (e instanceof HttpApiError.HttpApiDecodeError) return Option.some(fromDecodeError(e))
    if (HttpServerError.isServerError(e) && e._tag === "RouteNotFound") {
      return Option.some(NotFound.of(`no route for ${e.request.method} ${e.request.url.split("?")[0]}`))
    }
  }
  const defect = Cause.dieOption(cause)
  if (Option.isSome(failure) ? isBodyTooLarge(failure.value) : Option.exists(defect, isBodyTooLarge)) {
    return Option.some(PayloadTooLarge.of(`request body exceeds ${MAX_BODY_BYTES} bytes`))
  }
  // A route gives up on a database error as a defect; one that never reached the database is a 503, not a 500.
  if (Option.exists(defect, isDatabaseUnavailable)) {
    return Option.some(NotReady.of("the database is not answering; try again shortly"))
  }
  return Option.none()
}

/** Route templates of the API (plus the docs), to label metrics without one series per chat id. */
const routeTemplates = (): Array<{ readonly method: string; readonly template: string; readonly pattern: RegExp }> => {
  const routes = [
    { method: "GET", template: "/docs" },
    { method: "GET", template: "/openapi.json" }
  ]
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => routes.push({ method: endpoint.method, template: endpoint.path })
  })
  return routes.map(r => ({
    ...r,
    pattern: new RegExp(`^${r.template.replace(/[.]/g, "\\.").replace(/:[A-Za-z_]+/g, "[^/]+")}/?$`)
  }))
}

/**
 * The one edge every request passes: it refuses oversized bodies, renders every failure — typed errors, 400 decode
 * errors, unknown routes, an unreachable database (503), defects — as `{ error: { code, message, field? } }` (never a stack trace), logs defects,
 * and counts requests by route template and status.
 */
export const EdgeLive = HttpApiBuilder.middleware(
  Effect.sync(() => {
    const routes = routeTemplates()
    const routeOf = (method: string, path: string) =>
      routes.find(r => r.method === method && r.pattern.test(path))?.template ?? "unmatched"
    const renderFailure = (request: HttpServerRequest.HttpServerRequest) => (cause: Cause.Cause<unknown>) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.interrupt
        : Option.match(toApiError(cause), {
            onSome: error => Effect.succeed(renderError(error)),
            onNone: () =>
              Effect.as(
                Effect.logError("request failed", cause).pipe(
                  Effect.annotateLogs({ method: request.method, path: request.url.split("?")[0] })
                ),
                renderError(Internal.instance)
              )
          })
    // Per request: a few plain steps (no generator), since this runs in front of every route. The latency is read
    // from `performance.now()` (monotonic) inside them rather than by two Clock effects.
    return app =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, request => {
        const started = performance.now()
        const length = Number(request.headers["content-length"] ?? "0")
        const answered =
          length > MAX_BODY_BYTES
            ? Effect.succeed(renderError(PayloadTooLarge.of(`request body exceeds ${MAX_BODY_BYTES} bytes`)))
            : Effect.catchAllCause(
                // No GET route reads a body: the limit is set only where one can be read.
                request.method === "GET" ? app : HttpIncomingMessage.withMaxBodySize(app, Option.some(MAX_BODY_BYTES)),
                renderFailure(request)
              )
        return Effect.tap(answered, response =>
          Effect.sync(() =>
            countRequest(
              routeOf(request.method, pathOf(request.url)),
              request.method,
              response.status,
              performance.now() - started
            )
          )
        )
      })
  })
)
