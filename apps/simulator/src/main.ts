import { LoggingLive, loadBucketTable } from "@cliq-mirror/core"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Exit, Layer, Option, Predicate } from "effect"
import { Banner } from "./Banner.js"
import { parseFlags, USAGE } from "./Flags.js"
import { SimulatorServer } from "./SimulatorServer.js"

const main = Effect.gen(function* () {
  const { help, ...flags } = yield* parseFlags(process.argv.slice(2))
  if (help) return yield* Console.log(USAGE)
  const buckets = yield* loadBucketTable
  return yield* Layer.launch(Banner.pipe(Layer.provide(SimulatorServer.layer({ ...flags, buckets }))))
}).pipe(Effect.tapError(error => Console.error(error.message)))

// Bad flags exit with 2, any other failure with 1.
main.pipe(
  Effect.provide(LoggingLive),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    teardown: (exit, onExit) =>
      onExit(
        Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)
          ? 0
          : Option.exists(Cause.failureOption(exit.cause), e => Predicate.isTagged(e, "FlagError"))
            ? 2
            : 1
      )
  })
)
