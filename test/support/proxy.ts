import { createServer as httpCreateServer, request as httpRequest } from "node:http"
import { Effect } from "effect"

export interface ProxiedCall {
  readonly at: number
  readonly method: string
  readonly path: string
  readonly token: string
}

/** A pass-through proxy in front of the simulator that records every call: one per process tells who called what. */
export const recordingProxy = (target: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly calls: Array<ProxiedCall>; readonly close: () => void }>(resume => {
      const calls: Array<ProxiedCall> = []
      const proxy = httpCreateServer((req, res) => {
        const token = (req.headers.authorization ?? "").split(/\s+/)[1] ?? ""
        calls.push({ at: Date.now(), method: req.method ?? "GET", path: req.url ?? "/", token })
        const upstream = httpRequest(
          new URL(req.url ?? "/", target),
          { method: req.method, headers: req.headers },
          up => {
            res.writeHead(up.statusCode ?? 502, up.headers)
            up.pipe(res)
          }
        )
        upstream.on("error", () => res.destroy())
        req.pipe(upstream)
      })
      proxy.listen(0, "127.0.0.1", () => {
        const address = proxy.address()
        const port = typeof address === "object" && address ? address.port : 0
        resume(
          Effect.succeed({
            url: `http://127.0.0.1:${port}`,
            calls,
            close: () => {
              proxy.closeAllConnections()
              proxy.close()
            }
          })
        )
      })
    }),
    p => Effect.sync(p.close)
  )
