import { Context, Data, Effect, Layer } from "effect"
import type { SimulatorOptions } from "./Options.js"
import { type RunningSimulator, startSimulator } from "./Simulator.js"

export class SimulatorStartError extends Data.TaggedError("SimulatorStartError")<{ readonly message: string }> {}

/** The running simulator as a scoped service: started when the layer is built, closed with its scope. */
export class SimulatorServer extends Context.Tag("@cliq-mirror/simulator/SimulatorServer")<
  SimulatorServer,
  RunningSimulator
>() {
  static readonly layer = (
    options: SimulatorOptions & { readonly port?: number; readonly host?: string }
  ): Layer.Layer<SimulatorServer, SimulatorStartError> =>
    Layer.scoped(
      SimulatorServer,
      Effect.acquireRelease(
        Effect.tryPromise({
          try: () => startSimulator(options),
          catch: cause => new SimulatorStartError({ message: cause instanceof Error ? cause.message : String(cause) })
        }),
        running => Effect.promise(() => running.close())
      )
    )
}
