import { Command, ValidationError } from "@effect/cli"
import { HttpClientError } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Option, Predicate, Schema } from "effect"
import { cli } from "./Cli.js"

const run = Command.run(cli, { name: "cliq-mirror", version: "0.1.0" })

/** The envelope every API error carries (docs/api.md#errors). */
const ApiFailure = Schema.Struct({
  error: Schema.Struct({ code: Schema.String, message: Schema.optional(Schema.String) })
})

/** Every failure as one line: the API's error code and message, the flag's rule, or what could not be reached. */
export const describe = (error: unknown): Option.Option<string> => {
  // @effect/cli has printed it already, naming the flag.
  if (ValidationError.isValidationError(error)) return Option.none()
  const api = Schema.decodeUnknownOption(ApiFailure)(error)
  if (Option.isSome(api)) return Option.some(`error: ${api.value.error.code}: ${api.value.error.message ?? ""}`)
  if (HttpClientError.isHttpClientError(error)) {
    return Option.some(
      error._tag === "RequestError"
        ? `error: cannot reach the API at ${error.request.url}`
        : `error: unexpected answer from the API (HTTP ${error.response.status})`
    )
  }
  if (Predicate.hasProperty(error, "message")) return Option.some(`error: ${String(error.message).split("\n")[0]}`)
  return Option.some(`error: ${String(error)}`)
}

run(process.argv).pipe(
  Effect.catchAllCause(cause =>
    Effect.sync(() => {
      const failure = Cause.failureOption(cause)
      const line = Option.isSome(failure)
        ? describe(failure.value)
        : Option.some(`error: ${Cause.pretty(cause).split("\n")[0]}`)
      if (Option.isSome(line)) process.stderr.write(`${line.value}\n`)
      process.exitCode = 1
    })
  ),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
