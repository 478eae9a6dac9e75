import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const SKIP = new Set(["node_modules", "dist", ".git", ".scratch", ".bench", "coverage"])

const walk = (dir: string): Array<string> =>
  readdirSync(dir).flatMap(name => {
    if (SKIP.has(name)) return []
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return walk(path)
    return /\.(ts|md)$/.test(name) ? [path] : []
  })

const files = walk(ROOT).map(path => ({ path: relative(ROOT, path), text: readFileSync(path, "utf8") }))

/** The anchors a docs page offers: explicit `<a id>` targets and GitHub's slugs of its headings. */
const anchorsOf = (text: string): Set<string> => {
  const ids = [...text.matchAll(/<a id="([^"]+)"><\/a>/g)].map(m => m[1]!)
  const slugs = [...text.matchAll(/^#{1,6} (.+)$/gm)].map(m =>
    m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, "")
      .replace(/ /g, "-")
  )
  return new Set([...ids, ...slugs])
}

describe("references in code and docs", () => {
  it("point into the repository, never at team documents or their section numbers", () => {
    const outside = files.flatMap(({ path, text }) =>
      text
        .split("\n")
        .flatMap((line, i) =>
          /CLIQ_API\.md|CONTRACT\.md|\u00a7/.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : []
        )
    )
    assert.deepStrictEqual(outside, [])
  })

  it("every docs/<page>.md#<anchor> names a page and an anchor that exist", () => {
    const broken: Array<string> = []
    for (const { path, text } of files) {
      for (const m of text.matchAll(/docs\/([a-z-]+\.md)(?:#([a-z0-9-]+))?/g)) {
        const page = join(ROOT, "docs", m[1]!)
        if (!existsSync(page)) broken.push(`${path}: ${m[0]} (no such page)`)
        else if (m[2] !== undefined && !anchorsOf(readFileSync(page, "utf8")).has(m[2])) {
          broken.push(`${path}: ${m[0]} (no such anchor)`)
        }
      }
    }
    assert.deepStrictEqual(broken, [])
  })

  it("links between docs pages resolve", () => {
    const broken: Array<string> = []
    for (const { path, text } of files.filter(f => f.path.startsWith("docs/"))) {
      for (const m of text.matchAll(/\]\(([a-z-]+\.md)?(?:#([a-z0-9-]+))?\)/g)) {
        const target = m[1] === undefined ? join(ROOT, path) : join(ROOT, "docs", m[1])
        if (!existsSync(target)) broken.push(`${path}: ${m[0]} (no such page)`)
        else if (m[2] !== undefined && !anchorsOf(readFileSync(target, "utf8")).has(m[2])) {
          broken.push(`${path}: ${m[0]} (no such anchor)`)
        }
      }
    }
    assert.deepStrictEqual(broken, [])
  })
})
