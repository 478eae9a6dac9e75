import type { IncomingMessage, ServerResponse } from "node:http"
import {
  type Body,
  createInput,
  faultSpec,
  isBool,
  isNumber,
  isString,
  isStrings,
  messageInput,
  opt,
  req,
  since,
  tokenInput,
  userStateInput
} from "./ControlInputs.js"
import { SimulatorControlError } from "./ControlTypes.js"
import { NOT_JSON, parseJson, readText, send } from "./Http.js"
import type { SimulatorState } from "./State.js"

type Run = (state: SimulatorState, params: ReadonlyArray<string>, body: Body, query: URLSearchParams) => unknown

export const CONTROL_PREFIX = "/_sim"

interface Route {
  readonly method: "GET" | "POST" | "DELETE"
  readonly path: string
  readonly pattern: RegExp
  readonly run: Run
}

const route = (method: Route["method"], path: string, run: Run): Route => ({
  method,
  path,
  pattern: new RegExp(`^${path.replace(/:[A-Za-z]+/g, "([^/]+)")}$`),
  run
})

const chatOr404 = (state: SimulatorState, id: string) => {
  const chat = state.chat(id)
  if (!chat) throw new SimulatorControlError(`unknown chat ${id}`, 404)
  return chat
}

const ROUTES: ReadonlyArray<Route> = [
  route("GET", "", state => summary(state)),
  route("GET", "/users", state => ({ accounts: state.accounts(), people: state.people() })),
  route("GET", "/chats", (state, _, __, query) => {
    const ids = (query.get("ids") ?? "").split(",").filter(s => s !== "")
    return { chats: ids.length > 0 ? ids.flatMap(id => state.chat(id) ?? []) : state.chats() }
  }),
  route("POST", "/chats", (state, _, body) => state.createChat(createInput(body))),
  route("GET", "/chats/:chatId", (state, [id]) => chatOr404(state, id!)),
  route("DELETE", "/chats/:chatId", (state, [id]) => state.deleteChat(id!)),
  route("POST", "/chats/:chatId/restore", (state, [id]) => state.restoreChat(id!)),
  route("POST", "/chats/:chatId/messages", (state, [id], body) => state.postMessage(id!, messageInput(body))),
  route("POST", "/messages", (state, _, body) => ({
    messages: state.postMessages({
      chatIds: req(body, "chatIds", isStrings, "a list of chat ids"),
      ...messageInput(body)
    })
  })),
  route("POST", "/chats/:chatId/rename", (state, [id], body) =>
    state.renameChat(id!, req(body, "title", isString, "a string"))
  ),
  route("POST", "/chats/:chatId/user-state", (state, [id], body) => state.setUserState(id!, userStateInput(body))),
  route("POST", "/chats/:chatId/history", (state, [id], body) =>
    state.setHistory(id!, req(body, "enabled", isBool, "a boolean"))
  ),
  route("POST", "/chats/:chatId/members", (state, [id], body) => ({
    added: state.addMembers(id!, opt(body, "add", isStrings, "a list of user ids") ?? []),
    removed: state.removeMembers(id!, opt(body, "remove", isStrings, "a list of user ids") ?? [])
  })),
  route("GET", "/faults", state => ({ faults: state.listFaults() })),
  route("POST", "/faults", (state, _, body) => state.injectFault(faultSpec(body))),
  route("DELETE", "/faults", state => ({ cleared: state.clearFaults() })),
  route("DELETE", "/faults/:faultId", (state, [id]) => ({ cleared: state.clearFaults(Number(id)) })),
  route("GET", "/requests", (state, _, __, query) => ({ requests: state.requests(since(query)) })),
  route("DELETE", "/requests", state => state.resetLogs()),
  route("GET", "/violations", (state, _, __, query) => ({ violations: state.violations(since(query)) })),
  route("POST", "/tokens", (state, _, body) => state.issueToken(tokenInput(body))),
  route("POST", "/tokens/revoke", (state, _, body) => ({
    revoked: state.revokeToken(req(body, "token", isString, "a token"))
  })),
  route("GET", "/clock", state => ({ nowMs: state.now(), offsetMs: state.clock.offsetMs })),
  route("POST", "/clock/advance", (state, _, body) => ({
    nowMs: state.advanceClock(req(body, "ms", isNumber, "milliseconds")),
    offsetMs: state.clock.offsetMs
  })),
  route("GET", "/throttle", state => ({ slots: state.throttleStatus() })),
  route("DELETE", "/throttle", state => state.resetThrottle())
]

export const CONTROL_ROUTES: ReadonlyArray<string> = ROUTES.map(r => `${r.method} ${CONTROL_PREFIX}${r.path}`)

const summary = (state: SimulatorState) => ({
  nowMs: state.now(),
  clockOffsetMs: state.clock.offsetMs,
  options: {
    chats: state.options.chats,
    users: state.options.users,
    seed: state.options.seed,
    timeScale: state.options.timeScale,
    throttleShape: state.options.throttleShape,
    responseTimes: state.options.responseTimes,
    chatIdStyle: state.options.chatIdStyle,
    participantCap: state.options.participantCap,
    accessTokenLifetimeSeconds: state.options.accessTokenLifetimeSeconds
  },
  buckets: state.options.scaledBuckets,
  accounts: state.accounts(),
  refreshTokens: state.options.refreshTokens,
  chatCount: state.store.chats.size,
  deletedChatCount: state.store.deleted.size,
  routes: CONTROL_ROUTES
})

/** The control API: JSON in, JSON out, no auth. Errors answer `{ "error": message }`. */
export const handleControl = async (
  state: SimulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL
): Promise<void> => {
  const method = req.method ?? "GET"
  const rest = url.pathname.slice(CONTROL_PREFIX.length).replace(/\/$/, "")
  const parsed = parseJson(await readText(req))
  if (parsed === NOT_JSON) return send(res, { status: 400, body: { error: "body is not valid JSON" } })
  const body: Body = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Body) : {}
  const matching = ROUTES.filter(r => r.pattern.test(rest))
  const found = matching.find(r => r.method === method)
  if (!found) {
    return send(res, {
      status: matching.length > 0 ? 405 : 404,
      body: { error: matching.length > 0 ? "method not allowed" : "unknown control route", routes: CONTROL_ROUTES }
    })
  }
  try {
    const params = found.pattern.exec(rest)!.slice(1).map(decodeURIComponent)
    const result = found.run(state, params, body, url.searchParams)
    send(res, result === undefined ? { status: 204 } : { status: 200, body: result })
  } catch (error) {
    if (error instanceof SimulatorControlError) send(res, { status: error.status, body: { error: error.message } })
    else send(res, { status: 500, body: { error: String(error) } })
  }
}
