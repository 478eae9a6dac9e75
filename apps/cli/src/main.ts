import { Command, ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Option, Predicate } from "effect"
import { cli } from "./Cli.js"

const run = Command.run(cli, { name: "cliq-mirror", version: "0.1.0" })

/** Every failure as one line: the API's error code and message, the flag's rule, or what could not be reached. */
export const describe = (error: unknown): Option.Option<string> => {
  // @effect/cli has printed it already, naming the flag.
  if (ValidationError.isValidationError(error)) return Option.none()
  if (Predicate.hasProperty(error, "error") && Predicate.hasProperty(error.error, "code")) {
    const e = error.error as { code: string; message?: string }
    return Option.some(`error: ${e.code}: ${e.message ?? ""}`)
  }
  if (Predicate.hasProperty(error, "_tag") && error._tag === "RequestError") {
    const req = Predicate.hasProperty(error, "request") ? (error.request as { url?: string }).url : undefined
    return Option.some(`error: cannot reach the API${req === undefined ? "" : ` at ${req}`}`)
  }
  if (Predicate.hasProperty(error, "_tag") && error._tag === "ResponseError") {
    const status = Predicate.hasProperty(error, "response") ? (error.response as { status?: number }).status : undefined
    return Option.some(`error: unexpected answer from the API (HTTP ${status ?? "?"})`)
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
