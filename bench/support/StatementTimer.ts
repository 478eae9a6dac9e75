import { performance } from "node:perf_hooks"
import type postgres from "postgres"
import { procStats } from "./Processes.js"

export interface Cost {
  calls: number
  wallMs: number
  pgMs: number
  nodeMs: number
}

export const cpuMsOf = (pid: number) => procStats(pid)?.cpuMs ?? 0

/** CPU time of this process so far, ms. */
export const nodeMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/**
 * Times every statement a transaction runs: each query of `tx` is wrapped at the moment it is awaited, and grouped
 * by the start of its SQL text; PostgreSQL's share is read from its backend process's CPU time around it.
 */
export const instrument = (tx: postgres.TransactionSql, pid: number, costs: Map<string, Cost>) => {
  const timed = <Q extends PromiseLike<unknown>>(query: Q, text: string): Q => {
    const label = text.replace(/\s+/g, " ").trim().slice(0, 64)
    const then = query.then.bind(query)
    // postgres.js calls `then` itself too (its `catch` is `then(undefined, …)`): only an awaiting caller is timed.
    Object.assign(query, {
      // biome-ignore lint/suspicious/noThenProperty: the query stays a thenable; only its `then` is wrapped
      then: (ok?: (v: unknown) => unknown, fail?: (e: unknown) => unknown) => {
        if (typeof ok !== "function") return then(ok, fail)
        const wall = performance.now()
        const pg = cpuMsOf(pid)
        const node = nodeMs()
        return then(value => {
          const cost = costs.get(label) ?? { calls: 0, wallMs: 0, pgMs: 0, nodeMs: 0 }
          cost.calls++
          cost.wallMs += performance.now() - wall
          cost.pgMs += cpuMsOf(pid) - pg
          cost.nodeMs += nodeMs() - node
          costs.set(label, cost)
          return ok(value)
        }, fail)
      }
    })
    return query
  }
  return new Proxy(tx, {
    apply: (target, self, args: Array<unknown>) => {
      const result = Reflect.apply(target, self, args)
      const strings = args[0] as { raw?: unknown } | undefined
      return Array.isArray(strings) && strings.raw ? timed(result as PromiseLike<unknown>, strings.join("$")) : result
    },
    get: (target, prop) => {
      if (prop === "unsafe")
        return (text: string, ...rest: Array<unknown>) =>
          timed((target.unsafe as (...a: Array<unknown>) => PromiseLike<unknown>)(text, ...rest), text)
      const value = Reflect.get(target, prop)
      return typeof value === "function" ? value.bind(target) : value
    }
  })
}
