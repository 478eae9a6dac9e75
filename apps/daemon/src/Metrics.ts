import type { CliqError, RateBudgetError } from "@cliq-mirror/core"
import { Cause, Exit, Option } from "effect"
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client"
import type { PassGateStats } from "./Sync/PassGate.js"

/** The daemon's one registry: what `/metrics` on METRICS_PORT serves (see MetricsServer.ts). */
export const registry = new Registry()
collectDefaultMetrics({ register: registry })

export const upstreamCalls = new Counter({
  name: "cliq_upstream_calls_total",
  help: "Upstream calls by operation and outcome (ok, or the error's tag)",
  labelNames: ["operation", "outcome"] as const,
  registers: [registry]
})

export const throttleAnswers = new Counter({
  name: "cliq_upstream_throttled_total",
  help: "Throttle answers from the upstream by operation: the budget keeps this at 0",
  labelNames: ["operation"] as const,
  registers: [registry]
})

export const budgetUsed = new Gauge({
  name: "cliq_budget_used",
  help: "Calls sent in the bucket's current window, per bucket and account",
  labelNames: ["bucket", "account"] as const,
  registers: [registry]
})

export const budgetThreshold = new Gauge({
  name: "cliq_budget_threshold",
  help: "Calls the bucket's window allows",
  labelNames: ["bucket", "account"] as const,
  registers: [registry]
})

export const budgetLocked = new Gauge({
  name: "cliq_budget_locked_seconds",
  help: "Seconds left of the bucket's throttle lock, 0 when unlocked",
  labelNames: ["bucket", "account"] as const,
  registers: [registry]
})

export const syncLag = new Gauge({
  name: "cliq_sync_lag_seconds",
  help: "Seconds since the stream last completed a full pass",
  labelNames: ["account", "stream"] as const,
  registers: [registry]
})

export const syncFailures = new Gauge({
  name: "cliq_sync_consecutive_failures",
  help: "Consecutive failed passes of the stream",
  labelNames: ["account", "stream"] as const,
  registers: [registry]
})

export const eventsAppended = new Gauge({
  name: "cliq_events_appended",
  help: "Events the stream's own passes appended to the log since it was created",
  labelNames: ["account", "stream"] as const,
  registers: [registry]
})

export const eventsLogHead = new Gauge({
  name: "cliq_events_max_seq",
  help: "Highest seq in the event log: every event appended by any process",
  registers: [registry]
})

export const backfillProgress = new Gauge({
  name: "cliq_backfill_progress_ratio",
  help: "Share of the backfill walk covered (0..1)",
  labelNames: ["account"] as const,
  registers: [registry]
})

export const backfillEta = new Gauge({
  name: "cliq_backfill_eta_seconds",
  help: "Estimated seconds until the backfill completes",
  labelNames: ["account"] as const,
  registers: [registry]
})

export const credentialsOk = new Gauge({
  name: "cliq_account_credentials_ok",
  help: "1 while the account's credentials work",
  labelNames: ["account"] as const,
  registers: [registry]
})

export const syncMoving = new Gauge({
  name: "cliq_account_sync_moving",
  help: "1 while every stream of the account wrote its state recently (see /healthz)",
  labelNames: ["account"] as const,
  registers: [registry]
})

let passGate: (() => PassGateStats) | undefined
/** The process's pass gate, read at every scrape. */
export const observePassGate = (stats: () => PassGateStats) => {
  passGate = stats
}

export const syncPasses = new Gauge({
  name: "cliq_sync_passes",
  help: "Sync passes holding a turn (state=running) or waiting for one (state=waiting), by class: incremental, hidden, state (state listings, reconciliation), members",
  labelNames: ["class", "state"] as const,
  registers: [registry],
  collect() {
    const s = passGate?.()
    if (s === undefined) return
    for (const [cls, n] of Object.entries(s.held)) this.set({ class: cls, state: "running" }, n)
    for (const [cls, n] of Object.entries(s.waiting)) this.set({ class: cls, state: "waiting" }, n)
  }
})

export const syncPassPermits = new Gauge({
  name: "cliq_sync_pass_permits",
  help: "Sync passes that may run at once (SYNC_CONCURRENCY)",
  registers: [registry],
  collect() {
    const s = passGate?.()
    if (s !== undefined) this.set(s.permits)
  }
})

export const commandsUnfinished = new Gauge({
  name: "cliq_commands",
  help: "Unfinished commands by status",
  labelNames: ["status"] as const,
  registers: [registry]
})

export const commandsFinished = new Counter({
  name: "cliq_commands_finished_total",
  help: "Commands this daemon finished, by type and status",
  labelNames: ["type", "status"] as const,
  registers: [registry]
})

export const commandLatency = new Histogram({
  name: "cliq_command_duration_seconds",
  help: "From intake to completion, by type and status",
  labelNames: ["type", "status"] as const,
  buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
  registers: [registry]
})

export const retentionPruned = new Counter({
  name: "cliq_commands_pruned_total",
  help: "Finished commands deleted by retention",
  registers: [registry]
})

/** An upstream call's outcome as a bounded label: `ok` or the error's tag. */
export const outcomeOf = (exit: Exit.Exit<unknown, CliqError | RateBudgetError>): string => {
  if (Exit.isSuccess(exit)) return "ok"
  const failure = Option.getOrUndefined(Cause.failureOption(exit.cause))
  if (failure !== undefined) return failure._tag
  return Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "defect"
}

export const countUpstreamCall = (operation: string, exit: Exit.Exit<unknown, CliqError | RateBudgetError>) => {
  const outcome = outcomeOf(exit)
  upstreamCalls.inc({ operation, outcome })
  if (outcome === "CliqThrottled") throttleAnswers.inc({ operation })
}

export const recordFinished = (
  outcomes: ReadonlyArray<{
    readonly command: { readonly type: string; readonly createdAt: Date }
    readonly status: string
  }>,
  now: number
) => {
  for (const { command, status } of outcomes) {
    commandsFinished.inc({ type: command.type, status })
    commandLatency.observe({ type: command.type, status }, Math.max(0, now - command.createdAt.getTime()) / 1000)
  }
}

export const recordBackfill = (accountId: string, covered: number, etaMs: number) => {
  backfillProgress.set({ account: accountId }, covered)
  backfillEta.set({ account: accountId }, etaMs / 1000)
}
