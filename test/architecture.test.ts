import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const ROOT = fileURLToPath(new URL("..", import.meta.url))

const sources = (dir: string): Array<string> =>
  readdirSync(join(ROOT, dir)).flatMap(name => {
    const path = join(dir, name)
    return statSync(join(ROOT, path)).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : []
  })

const importsOf = (file: string): Array<string> =>
  [...readFileSync(join(ROOT, file), "utf8").matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map(m => m[1]!)

/** Every import of `dir` that matches one of `forbidden` (package names, or relative paths leaving `dir`). */
const violations = (dir: string, forbidden: ReadonlyArray<RegExp>) =>
  sources(dir).flatMap(file =>
    importsOf(file)
      .filter(spec => {
        const target = spec.startsWith(".") ? relative(ROOT, join(ROOT, file, "..", spec)) : spec
        return forbidden.some(f => f.test(target))
      })
      .map(spec => `${file} imports ${spec}`)
  )

const APPS = /^(apps\/|@cliq-mirror\/(api|daemon|simulator|server))/

describe("dependency direction: apps → packages/db → packages/core", () => {
  it("packages/core knows no Postgres, no queue, no other package and no app", () => {
    assert.deepStrictEqual(
      violations("packages/core/src", [
        /^postgres$/,
        /^drizzle-orm/,
        /^bullmq/,
        /@cliq-mirror\/db/,
        /^packages\/db/,
        APPS
      ]),
      []
    )
  })

  it("the scan sees imports (so the checks below can fail)", () => {
    assert.isAbove(violations("apps/daemon/src", [/@cliq-mirror\/db/]).length, 5)
  })

  it("packages/db imports no app and no queue", () => {
    assert.deepStrictEqual(violations("packages/db/src", [APPS, /^bullmq/]), [])
  })

  it("the simulator imports only packages/core", () => {
    assert.deepStrictEqual(
      violations("apps/simulator/src", [
        /@cliq-mirror\/(db|api|daemon|server)/,
        /^packages\/db/,
        /^apps\/(api|daemon|server)/,
        /^postgres$/,
        /^drizzle-orm/,
        /^bullmq/
      ]),
      []
    )
  })

  it("the API and the daemon meet only through Postgres and the queue", () => {
    assert.deepStrictEqual(
      violations("apps/api/src", [
        /@cliq-mirror\/(daemon|simulator|server)/,
        /^apps\/(daemon|simulator|server)/,
        /^bullmq/
      ]),
      []
    )
    assert.deepStrictEqual(
      violations("apps/daemon/src", [/@cliq-mirror\/(api|simulator|server)/, /^apps\/(api|simulator|server)/]),
      []
    )
  })
})

describe("what the daemon loads", () => {
  it("no @effect/platform barrel: it would load the API docs' bundles (tens of megabytes of heap) into every daemon", () => {
    const barrel = [/^@effect\/platform(-node)?$/]
    assert.deepStrictEqual(
      ["apps/daemon/src", "packages/core/src", "packages/db/src"].flatMap(dir => violations(dir, barrel)),
      []
    )
  })
})
