import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { parse } from "yaml"
import { registry as apiRegistry } from "../../apps/api/src/Metrics.js"
import { registry as daemonRegistry } from "../../apps/daemon/src/Metrics.js"

const AlertRules = Schema.Struct({
  groups: Schema.Array(
    Schema.Struct({ rules: Schema.Array(Schema.Struct({ alert: Schema.String, expr: Schema.String })) })
  )
})

const Dashboard = Schema.parseJson(
  Schema.Struct({
    panels: Schema.Array(Schema.Struct({ targets: Schema.Array(Schema.Struct({ expr: Schema.String })) }))
  })
)

const declared = Effect.gen(function* () {
  const names = new Set<string>()
  for (const registry of [daemonRegistry, apiRegistry]) {
    for (const m of yield* Effect.promise(() => registry.getMetricsAsJSON())) {
      names.add(m.name)
      if (String(m.type) === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(`${m.name}${s}`)
    }
  }
  return names
})

const referenced = (text: string) => [...text.matchAll(/\b((?:cliq|http|process|nodejs)_[a-z0-9_]+)/g)].map(m => m[1]!)

describe("docs/ops", () => {
  it.effect("alert rules parse and name only metrics the daemon or the API exports", () =>
    Effect.gen(function* () {
      const alerts = yield* Schema.decodeUnknown(AlertRules)(parse(readFileSync("docs/ops/alerts.yml", "utf8")))
      const rules = alerts.groups.flatMap(g => g.rules)
      assert.isAbove(rules.length, 5)
      const names = yield* declared
      assert.deepStrictEqual(
        rules.flatMap(r => referenced(r.expr)).filter(n => !names.has(n)),
        []
      )
    })
  )

  it.effect("the Grafana dashboard is JSON whose panels query only exported metrics", () =>
    Effect.gen(function* () {
      const dashboard = yield* Schema.decode(Dashboard)(readFileSync("docs/ops/grafana-dashboard.json", "utf8"))
      const names = yield* declared
      const exprs = dashboard.panels.flatMap(p => p.targets.map(t => t.expr))
      assert.isAbove(exprs.length, 10)
      assert.deepStrictEqual(
        exprs.flatMap(referenced).filter(n => !names.has(n)),
        []
      )
    })
  )
})
