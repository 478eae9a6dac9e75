import type { IncomingMessage, ServerResponse } from "node:http"
import { readText, send } from "./Http.js"
import { generic, type Reply } from "./Replies.js"
import type { SimulatorState } from "./State.js"

export const TOKEN_PATH = "/oauth/v2/token"
export const REVOKE_PATH = "/oauth/v2/token/revoke"

/** Zoho Accounts samples put the parameters in the query string; a form (or JSON) body is accepted as well. */
const parameters = (url: URL, contentType: string | undefined, text: string): URLSearchParams => {
  const params = new URLSearchParams(url.searchParams)
  if (text.trim() === "") return params
  if (contentType?.includes("application/json")) {
    try {
      const parsed = JSON.parse(text) as unknown
      if (typeof parsed === "object" && parsed !== null) {
        for (const [k, v] of Object.entries(parsed)) params.set(k, String(v))
      }
    } catch {
      return params
    }
    return params
  }
  for (const [k, v] of new URLSearchParams(text)) params.set(k, v)
  return params
}

export const handleOAuth = async (
  state: SimulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL
): Promise<void> => {
  const method = req.method ?? "GET"
  const text = await readText(req)
  const now = state.now()
  const revoke = url.pathname === REVOKE_PATH
  let reply: Reply
  if (method !== "POST") reply = { ...generic(405), headers: { allow: "POST" } }
  else {
    const params = parameters(url, req.headers["content-type"], text)
    reply = revoke ? state.auth.revokeRefresh(params.get("token") ?? "") : state.auth.mint(params, now)
  }
  const body = reply.body as Record<string, unknown> | undefined
  state.log.record({
    seq: state.log.nextSeq(),
    atMs: now,
    method,
    // Tokens and secrets stay out of the log.
    path: url.pathname,
    operationId: revoke ? "oauthRevoke" : "oauthToken",
    bucket: null,
    userIndex: null,
    userId: null,
    status: reply.status,
    outcome: body && typeof body.error === "string" ? `oauth_error:${body.error}` : "ok"
  })
  send(res, reply)
}
