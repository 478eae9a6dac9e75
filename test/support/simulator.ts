import { Effect } from "effect"
import { type SimulatorOptions, startSimulator } from "../../apps/simulator/src/index.js"

/** A simulator on a free port, closed when the scope closes. */
export const scopedSimulator = (options: SimulatorOptions) =>
  Effect.acquireRelease(
    Effect.promise(() => startSimulator({ port: 0, ...options })),
    s => Effect.promise(() => s.close())
  )
