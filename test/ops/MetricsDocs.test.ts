import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { registry as apiRegistry } from "../../apps/api/src/Metrics.js"
import { registry as daemonRegistry } from "../../apps/daemon/src/Metrics.js"

const declared = async () => {
  const names = new Set<string>()
  for (const registry of [daemonRegistry, apiRegistry]) {
    for (const m of await registry.getMetricsAsJSON()) {
      names.add(m.name)
      if (String(m.type) === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(`${m.name}${s}`)
    }
  }
  return names
}

const referenced = (text: string) => [...text.matchAll(/\b((?:cliq|http|process|nodejs)_[a-z0-9_]+)/g)].map(m => m[1]!)

describe("docs/ops", () => {
  it("alert rules parse and name only metrics the daemon or the API exports", async () => {
    const text = readFileSync("docs/ops/alerts.yml", "utf8")
    const rules = (parse(text) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap(
      g => g.rules
    )
    expect(rules.length).toBeGreaterThan(5)
    const names = await declared()
    expect(rules.flatMap(r => referenced(r.expr)).filter(n => !names.has(n))).toEqual([])
  })

  it("the Grafana dashboard is JSON whose panels query only exported metrics", async () => {
    const dashboard = JSON.parse(readFileSync("docs/ops/grafana-dashboard.json", "utf8")) as {
      panels: Array<{ targets: Array<{ expr: string }> }>
    }
    const names = await declared()
    const exprs = dashboard.panels.flatMap(p => p.targets.map(t => t.expr))
    expect(exprs.length).toBeGreaterThan(10)
    expect(exprs.flatMap(referenced).filter(n => !names.has(n))).toEqual([])
  })
})
