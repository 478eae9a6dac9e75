import type { IncomingMessage } from "node:http"
import type { ArmedFault } from "./Faults.js"
import { fail, GENERIC, type Reply, throttled } from "./Replies.js"

export type FaultOutcome =
  | { readonly type: "reply"; readonly reply: Reply }
  /** The connection is gone (reset) or held until it dies (timeout); nothing is sent. */
  | { readonly type: "dropped" }

const genericMessage = (status: number): string => (GENERIC as Record<number, string>)[status] ?? GENERIC[500]

/** Connections held by timeout faults, so that closing the server can end them at once. */
export class HeldSockets {
  private readonly held = new Map<IncomingMessage["socket"], NodeJS.Timeout>()

  hold(req: IncomingMessage, ms: number): void {
    const socket = req.socket
    const timer = setTimeout(() => {
      this.held.delete(socket)
      socket.destroy()
    }, ms)
    this.held.set(socket, timer)
    socket.once("close", () => {
      clearTimeout(timer)
      this.held.delete(socket)
    })
  }

  releaseAll(): void {
    for (const [socket, timer] of this.held) {
      clearTimeout(timer)
      socket.destroy()
    }
    this.held.clear()
  }
}

export const applyFault = (
  fault: ArmedFault,
  req: IncomingMessage,
  held: HeldSockets,
  defaults: { readonly throttleShape: "429" | "400"; readonly holdMs: number }
): FaultOutcome => {
  switch (fault.kind) {
    case "status": {
      const status = fault.status ?? 500
      return { type: "reply", reply: { status, body: fault.body ?? { message: genericMessage(status) } } }
    }
    case "error_code": {
      const reply = fail(fault.code ?? "chat_operation_failed", fault.message)
      return { type: "reply", reply: fault.status ? { ...reply, status: fault.status } : reply }
    }
    case "invalid_json":
      return { type: "reply", reply: { status: fault.status ?? 200, raw: '{"chats": [{"chat_id": "12' } }
    case "wrong_shape":
      return {
        type: "reply",
        reply: { status: fault.status ?? 200, body: fault.body ?? { result: "success", data: [{ unexpected: true }] } }
      }
    case "throttle":
      return { type: "reply", reply: throttled(fault.shape ?? defaults.throttleShape) }
    case "reset":
      req.socket.destroy()
      return { type: "dropped" }
    case "timeout":
      held.hold(req, fault.holdMs ?? defaults.holdMs)
      return { type: "dropped" }
  }
}
