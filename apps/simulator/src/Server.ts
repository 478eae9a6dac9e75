import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { API_PREFIX, handleApi } from "./ApiHandler.js"
import { CONTROL_PREFIX, handleControl } from "./Control.js"
import { HeldSockets } from "./FaultReplies.js"
import { send } from "./Http.js"
import { handleOAuth, REVOKE_PATH, TOKEN_PATH } from "./OAuthHandler.js"
import { generic } from "./Replies.js"
import type { SimulatorState } from "./State.js"

export interface Listening {
  readonly url: string
  readonly close: () => Promise<void>
}

const route = (state: SimulatorState, held: HeldSockets, req: IncomingMessage, res: ServerResponse) => {
  const url = new URL(req.url ?? "/", "http://simulator")
  const path = url.pathname
  if (path === TOKEN_PATH || path === REVOKE_PATH) return handleOAuth(state, req, res, url)
  if (path.startsWith(`${API_PREFIX}/`)) return handleApi(state, held, req, res, url)
  if (state.options.control && (path === CONTROL_PREFIX || path.startsWith(`${CONTROL_PREFIX}/`))) {
    return handleControl(state, req, res, url)
  }
  return send(res, generic(404))
}

export const listen = (state: SimulatorState, port: number, host: string): Promise<Listening> => {
  const held = new HeldSockets()
  const server: Server = createServer((req, res) => {
    Promise.resolve(route(state, held, req, res)).catch((error: unknown) => {
      if (!res.headersSent) send(res, { status: 500, body: { message: String(error) } })
      else res.destroy()
    })
  })
  server.keepAliveTimeout = 10_000
  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, host, () => {
      server.off("error", reject)
      const address = server.address() as AddressInfo
      const shownHost = host.includes(":") ? `[${host}]` : host
      resolve({
        url: `http://${shownHost}:${address.port}`,
        close: () =>
          new Promise<void>(done => {
            held.releaseAll()
            server.close(() => done())
            server.closeAllConnections()
          })
      })
    })
  })
}
