import { type RunningSimulator, startSimulator } from "@cliq-mirror/simulator"
import { Effect } from "effect"
import { activity } from "./Activity.js"

/** The demo account's data moves 10× faster than real time, so windows and locks are short enough to watch. */
export const DEMO_TIME_SCALE = 0.1

/** The simulator with seeded data and live activity, for as long as the scope lasts. */
export const demoUpstream = (listen: { readonly host: string; readonly port: number }) =>
  Effect.gen(function* () {
    const sim: RunningSimulator = yield* Effect.acquireRelease(
      Effect.promise(() =>
        startSimulator({ ...listen, chats: 3000, users: 3, seed: 42, control: true, timeScale: DEMO_TIME_SCALE })
      ),
      s => Effect.promise(() => s.close())
    )
    yield* Effect.forkScoped(activity(sim))
    return sim
  })
