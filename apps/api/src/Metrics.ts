import type { SyncSnapshot } from "@cliq-mirror/db/SyncStatusQuery"
import { Effect, Metric, MetricLabel, MetricState, Option } from "effect"

export const httpRequests = Metric.counter("http_requests_total", {
  description: "HTTP requests served, by route template, method and status",
  incremental: true
})

export const countRequest = (route: string, method: string, status: number) =>
  Metric.increment(
    Metric.taggedWithLabels(httpRequests, [
      MetricLabel.make("route", route),
      MetricLabel.make("method", method),
      MetricLabel.make("status", String(status))
    ])
  )

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
const metricName = (name: string) => name.replace(/[^a-zA-Z0-9_:]/g, "_")

const labels = (pairs: ReadonlyArray<readonly [string, string]>) =>
  pairs.length === 0 ? "" : `{${pairs.map(([k, v]) => `${metricName(k)}="${escapeLabel(v)}"`).join(",")}}`

interface Family {
  readonly type: "counter" | "gauge"
  readonly help: string
  readonly samples: Array<string>
}

const family = (
  families: Map<string, Family>,
  name: string,
  type: Family["type"],
  help: string,
  sample: readonly [ReadonlyArray<readonly [string, string]>, number]
) => {
  const existing = families.get(name) ?? { type, help, samples: [] }
  existing.samples.push(`${name}${labels(sample[0])} ${sample[1]}`)
  families.set(name, existing)
}

/** Prometheus text exposition (0.0.4) of the process's Effect counters and gauges plus the mirror's database figures. */
export const renderMetrics = (snapshot: Option.Option<SyncSnapshot>) =>
  Effect.map(Metric.snapshot, pairs => {
    const families = new Map<string, Family>()
    for (const { metricKey, metricState } of pairs) {
      const type = MetricState.isCounterState(metricState)
        ? "counter"
        : MetricState.isGaugeState(metricState)
          ? "gauge"
          : undefined
      if (type === undefined) continue
      const value = MetricState.isCounterState(metricState)
        ? metricState.count
        : (metricState as MetricState.MetricState.Gauge<number | bigint>).value
      family(
        families,
        metricName(metricKey.name),
        type,
        Option.getOrElse(metricKey.description, () => ""),
        [metricKey.tags.map(t => [t.key, t.value] as const), Number(value)]
      )
    }
    family(families, "cliq_database_up", "gauge", "1 when the figures below could be read from Postgres", [
      [],
      Option.isSome(snapshot) ? 1 : 0
    ])
    if (Option.isSome(snapshot)) {
      const s = snapshot.value
      family(families, "cliq_events_max_seq", "gauge", "Highest seq in the event log", [[], s.eventsMaxSeq])
      for (const a of s.accounts) {
        family(families, "cliq_chats_mirrored", "gauge", "Chats in the mirror per account", [
          [["account_id", a.accountId]],
          a.chatsMirrored
        ])
        for (const stream of a.streams) {
          if (stream.lagMs === null) continue
          family(families, "cliq_sync_lag_seconds", "gauge", "Seconds since the stream last completed a full pass", [
            [
              ["account_id", a.accountId],
              ["stream", stream.stream]
            ],
            stream.lagMs / 1000
          ])
        }
      }
      for (const [status, n] of Object.entries(s.commandsByStatus)) {
        family(families, "cliq_commands", "gauge", "Commands by status", [[["status", status]], n])
      }
    }
    return [...families.entries()]
      .flatMap(([name, f]) => [
        ...(f.help === "" ? [] : [`# HELP ${name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`]),
        `# TYPE ${name} ${f.type}`,
        ...f.samples
      ])
      .concat("")
      .join("\n")
  })
