import { resolveOptions, type SimulatorOptions } from "./Options.js"
import { listen } from "./Server.js"
import { SimulatorState } from "./State.js"

export interface RunningSimulator {
  /** http://127.0.0.1:PORT */
  readonly url: string
  /** url + "/api/v3" */
  readonly apiBaseUrl: string
  /** Where POST /oauth/v2/token is served (= url). */
  readonly accountsUrl: string
  /** In-process ground truth and control operations (the same as the control API). */
  readonly state: SimulatorState
  readonly close: () => Promise<void>
}

export const startSimulator = async (
  options: SimulatorOptions & { readonly port?: number; readonly host?: string }
): Promise<RunningSimulator> => {
  const resolved = resolveOptions(options)
  const state = new SimulatorState(resolved, "")
  const server = await listen(state, options.port ?? 0, options.host ?? "127.0.0.1")
  state.auth.apiDomain = server.url
  return {
    url: server.url,
    apiBaseUrl: `${server.url}/api/v3`,
    accountsUrl: server.url,
    state,
    close: server.close
  }
}
