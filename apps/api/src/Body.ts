import { HttpApiError, type HttpServerRequest } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Data, Effect, ParseResult, Schema } from "effect"
import { MAX_BODY_BYTES } from "./Edge.js"
import { InvalidParameter, PayloadTooLarge } from "./Errors.js"

class BodyUnreadable extends Data.TaggedError("BodyUnreadable")<{ readonly cause: unknown }> {}

/**
 * The body, at most MAX_BODY_BYTES of it. The edge refuses a declared Content-Length over the limit; a chunked body is
 * counted here. Past the limit the rest is drained and dropped rather than the stream destroyed (what the platform's
 * own reader does), so the client still receives the 413 instead of a connection reset.
 */
export const readBody = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.async<string, PayloadTooLarge | BodyUnreadable>(resume => {
    const source = NodeHttpServerRequest.toIncomingMessage(request)
    const chunks: Array<Buffer> = []
    let bytes = 0
    const done = () => {
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onError)
    }
    const onData = (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes <= MAX_BODY_BYTES) {
        chunks.push(chunk)
        return
      }
      done()
      source.on("error", () => {})
      source.resume()
      resume(Effect.fail(PayloadTooLarge.of(`request body exceeds ${MAX_BODY_BYTES} bytes`)))
    }
    const onEnd = () => {
      done()
      resume(Effect.succeed(Buffer.concat(chunks).toString("utf8")))
    }
    const onError = (cause: unknown) => {
      done()
      resume(Effect.fail(new BodyUnreadable({ cause })))
    }
    source.on("data", onData)
    source.once("end", onEnd)
    source.once("error", onError)
    return Effect.sync(done)
  })

export const readJson = (request: HttpServerRequest.HttpServerRequest) =>
  readBody(request).pipe(
    Effect.catchTag("BodyUnreadable", Effect.die),
    Effect.flatMap(text =>
      Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: () => InvalidParameter.of("body", "must be valid JSON")
      })
    )
  )

/**
 * The body read as above, then decoded by the endpoint's declared payload schema (Intake.ts); its failures are the
 * platform's own decode errors, rendered by the edge as a 400 naming the field.
 */
export const decodeBody =
  <A, I>(schema: Schema.Schema<A, I>) =>
  (request: HttpServerRequest.HttpServerRequest) =>
    readJson(request).pipe(
      Effect.flatMap(Schema.decodeUnknown(schema)),
      Effect.catchIf(ParseResult.isParseError, HttpApiError.HttpApiDecodeError.refailParseError)
    )
