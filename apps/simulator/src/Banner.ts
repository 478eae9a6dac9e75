import { Console, Effect, Layer } from "effect"
import { CONTROL_PREFIX } from "./Control.js"
import { SimulatorServer } from "./SimulatorServer.js"

/** What a developer needs to point a client at the simulator. */
export const Banner = Layer.effectDiscard(
  Effect.gen(function* () {
    const sim = yield* SimulatorServer
    const { options } = sim.state
    const lines = [
      `Cliq simulator listening on ${sim.url}`,
      `  API base:   ${sim.apiBaseUrl}`,
      `  OAuth:      POST ${sim.accountsUrl}/oauth/v2/token`,
      `  Data:       ${options.chats} chats, ${options.users} users, seed ${options.seed}, time scale ${options.timeScale}, throttle shape ${options.throttleShape}`,
      "  Tokens:",
      ...sim.state
        .accounts()
        .map(
          a =>
            `    user ${a.userIndex + 1}  ${a.token}  (${a.name}, user id ${a.userId}, offset ${a.offsetMinutes} min)`
        ),
      "  Refresh tokens:",
      ...options.refreshTokens.map(
        r => `    user ${r.userIndex + 1}  ${r.refreshToken}  client_id=${r.clientId} client_secret=${r.clientSecret}`
      ),
      options.control ? `  Control:    ${sim.url}${CONTROL_PREFIX}` : "  Control:    off (--control enables it)"
    ]
    yield* Console.log(lines.join("\n"))
  })
)
