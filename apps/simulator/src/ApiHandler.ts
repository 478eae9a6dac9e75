import type { IncomingMessage, ServerResponse } from "node:http"
import { endpointBucket, OPERATIONS, type Operation, resolveOperation } from "@cliq-mirror/core"
import type { Call } from "./Call.js"
import { applyFault, type HeldSockets } from "./FaultReplies.js"
import { HANDLERS, unresolved } from "./Handlers.js"
import { NOT_JSON, parseJson, readText, send } from "./Http.js"
import { generic, type Reply, throttled } from "./Replies.js"
import type { RequestLogEntry } from "./RequestLog.js"
import { matchApiPath } from "./Router.js"
import type { SimulatorState } from "./State.js"
import { throttleKey } from "./Throttle.js"

export const API_PREFIX = "/api/v3"

const ACCEPTS_JSON = /\*\/\*|application\/\*|application\/json|\+json/i

type LogFields = Omit<RequestLogEntry, "seq" | "atMs" | "method" | "path">

/**
 * One /api/v3 request: route (404/405) → auth (401) → throttle by the endpoint's bucket (refused calls never reach
 * the state) → scope (403) → fault "before" → operation → fault "after_effect". Requests without a valid token
 * are not counted by the throttle.
 */
export const handleApi = async (
  state: SimulatorState,
  held: HeldSockets,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL
): Promise<void> => {
  const method = req.method ?? "GET"
  const text = method === "GET" || method === "HEAD" ? "" : await readText(req)
  const now = state.now()
  const finish = (reply: Reply | undefined, fields: LogFields) => {
    state.log.record({
      seq: state.log.nextSeq(),
      atMs: now,
      method,
      path: url.pathname + url.search,
      ...fields
    })
    if (reply) send(res, reply)
  }
  const anonymous = { operationId: null, bucket: null, userIndex: null, userId: null } as const

  const route = matchApiPath(url.pathname.slice(API_PREFIX.length))
  if (!route) return finish(generic(404), { ...anonymous, status: 404, outcome: "not_found" })
  const candidates = OPERATIONS.filter(o => o.path === route.shape && o.method === method) as ReadonlyArray<Operation>
  if (candidates.length === 0) {
    const allow = [...new Set(OPERATIONS.filter(o => o.path === route.shape).map(o => o.method))].join(", ")
    return finish({ ...generic(405), headers: { allow } }, { ...anonymous, status: 405, outcome: "method_not_allowed" })
  }
  const accept = req.headers.accept
  if (accept && !ACCEPTS_JSON.test(accept)) {
    return finish(generic(406), { ...anonymous, status: 406, outcome: "not_acceptable" })
  }

  const token = state.auth.authenticate(req.headers.authorization, now)
  if (!token) return finish(generic(401), { ...anonymous, status: 401, outcome: "unauthorized" })
  const account = state.store.accounts[token.userIndex]!
  const who = { userIndex: account.index, userId: account.person.id }
  const body = parseJson(text)
  const operation = body === NOT_JSON ? undefined : resolveOperation(method, route.shape, body)
  const bucket = endpointBucket(method, route.shape)!
  const logged = { ...who, operationId: operation?.id ?? null, bucket }

  const key = throttleKey(state.throttle.table, bucket, account.person.id, token.clientId)
  const decision = state.throttle.admit(bucket, key, now)
  if (!decision.allowed) {
    const reply = throttled(state.options.throttleShape)
    state.log.violation({
      seq: state.log.nextSeq(),
      atMs: now,
      bucket,
      key,
      kind: decision.kind,
      lockedUntilMs: decision.lockedUntil,
      ...who,
      method,
      path: url.pathname + url.search,
      operationId: operation?.id ?? null
    })
    return finish(reply, {
      ...logged,
      status: reply.status,
      outcome: decision.kind === "locked" ? "locked" : "throttled"
    })
  }
  if (!state.auth.allows(token, operation ?? candidates[0]!)) {
    return finish(generic(403), { ...logged, status: 403, outcome: "forbidden" })
  }
  if (body === NOT_JSON) return finish(generic(400), { ...logged, status: 400, outcome: "ok" })
  if (!operation) {
    const reply = unresolved(candidates[0]!, body)
    return finish(reply, { ...logged, status: reply.status, outcome: "ok" })
  }

  const faultDefaults = { throttleShape: state.options.throttleShape, holdMs: state.options.defaultHoldMs }
  const runFault = (when: "before" | "after_effect"): boolean => {
    const fault = state.faults.take(operation.id, account.index, when)
    if (!fault) return false
    const outcome = applyFault(fault, req, held, faultDefaults)
    const status = outcome.type === "reply" ? outcome.reply.status : 0
    finish(outcome.type === "reply" ? outcome.reply : undefined, { ...logged, status, outcome: `fault:${fault.kind}` })
    return true
  }
  if (runFault("before")) return
  const call: Call = {
    store: state.store,
    options: state.options,
    account,
    now,
    query: url.searchParams,
    body,
    chatId: route.chatId
  }
  const reply = HANDLERS[operation.id](call)
  if (runFault("after_effect")) return
  finish(reply, { ...logged, status: reply.status, outcome: "ok" })
}
