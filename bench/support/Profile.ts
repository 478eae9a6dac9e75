import { readdir, readFile, stat } from "node:fs/promises"
import { SourceMap } from "node:module"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { fixed, table } from "./Stats.js"

interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
    readonly columnNumber: number
  }
  readonly children?: ReadonlyArray<number>
}

interface CpuProfile {
  /** Microseconds on the monotonic clock (CLOCK_MONOTONIC, as `process.hrtime`), where the first sample's delta starts. */
  readonly startTime: number
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/** Where a frame's code lives: a dependency by package name, project code by path, or V8's own pseudo-frames. */
const areaOf = (url: string, name: string) => {
  if (url === "") return name.startsWith("(") ? name : "(native)"
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (dep) return dep[1]!
  const own = /\/((?:apps|packages)\/[^/]+)\/(?:src|dist)\//.exec(url)
  if (own) return own[1]!
  return url.startsWith("node:") ? "node internals" : url
}

interface Source {
  readonly map: SourceMap
  readonly lines: ReadonlyArray<string>
  readonly edited: boolean
}

/**
 * tsx minifies what it loads, so profile positions point into one-line modules. Its transform cache (one JSON file per
 * module version, with the source map but without the source text) maps them back: for each file, the newest entry
 * written before the profile was. Lines of files edited since the run are marked "(edited since)".
 */
const loadSources = async (writtenAt: number) => {
  const newest = new Map<string, { readonly at: number; readonly map: SourceMap }>()
  const dir = join(tmpdir(), `tsx-${userInfo().uid}`)
  for (const entry of await readdir(dir).catch(() => [] as Array<string>)) {
    try {
      const at = (await stat(join(dir, entry))).mtimeMs
      if (at > writtenAt) continue
      const cached = JSON.parse(await readFile(join(dir, entry), "utf8")) as { map?: { sources?: Array<string> } }
      const file = cached.map?.sources?.[0]
      if (!file || !/\/(apps|packages)\//.test(file) || (newest.get(file)?.at ?? -1) > at) continue
      newest.set(file, { at, map: new SourceMap(cached.map as ConstructorParameters<typeof SourceMap>[0]) })
    } catch {}
  }
  const sources = new Map<string, Source>()
  for (const [file, { map }] of newest) {
    const text = await readFile(file, "utf8").catch(() => "")
    const edited = ((await stat(file).catch(() => undefined))?.mtimeMs ?? Number.POSITIVE_INFINITY) > writtenAt
    sources.set(file, { map, lines: text.split("\n"), edited })
  }
  return sources
}

const framer = (sources: Map<string, Source>) => (n: ProfileNode) => {
  const { url, functionName, lineNumber, columnNumber } = n.callFrame
  const short = url.replace(/^.*\/(node_modules|apps|packages)\//, "$1/")
  const source = url.startsWith("file://") ? sources.get(fileURLToPath(url)) : undefined
  const entry = source?.map.findEntry(lineNumber, columnNumber)
  if (!source || !entry || !("originalLine" in entry))
    return `${functionName || "(anonymous)"} ${short}:${lineNumber + 1}`
  const text = (source.lines[entry.originalLine] ?? "").trim().slice(0, 70)
  return `${short}:${entry.originalLine + 1} \`${text}\`${source.edited ? " (edited since)" : ""}`
}

/** A stretch of a run on the monotonic clock, in microseconds: `monotonicMicros()` at its start and at its end. */
export interface ProfileWindow {
  readonly fromUs: number
  readonly toUs: number
}

/** Now on the clock V8's profiles use (any process of the machine reads the same one). */
export const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n)

/**
 * Self time by area and by function, and inclusive time of project functions, from the newest main-thread profile in
 * `dir`; with `window`, of the samples taken within it only.
 * Samples of "(idle)" are time the process waited (for PostgreSQL, the simulator or a timer).
 */
export const summariseProfile = (dir: string, top = 15, window?: ProfileWindow) =>
  Effect.promise(async () => {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread (tsx's loader has its own).
    const files = (await readdir(dir)).filter(f => /\.0\.\d+\.cpuprofile$/.test(f)).sort()
    const file = files[files.length - 1]
    if (!file) return `no main-thread .cpuprofile in ${dir}`
    const profile = JSON.parse(await readFile(join(dir, file), "utf8")) as CpuProfile
    const frameOf = framer(await loadSources((await stat(join(dir, file))).mtimeMs))
    const byId = new Map(profile.nodes.map(n => [n.id, n]))
    const parent = new Map<number, number>()
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
    const self = new Map<string, number>()
    const area = new Map<string, number>()
    const inclusive = new Map<string, number>()
    let total = 0
    let at = profile.startTime
    profile.samples.forEach((id, i) => {
      at += profile.timeDeltas[i] ?? 0
      if (window !== undefined && (at < window.fromUs || at > window.toUs)) return
      const dt = (profile.timeDeltas[i] ?? 0) / 1000
      const node = byId.get(id)!
      total += dt
      self.set(frameOf(node), (self.get(frameOf(node)) ?? 0) + dt)
      const a = areaOf(node.callFrame.url, node.callFrame.functionName)
      area.set(a, (area.get(a) ?? 0) + dt)
      const seen = new Set<string>()
      for (let up: number | undefined = id; up !== undefined; up = parent.get(up)) {
        const n = byId.get(up)!
        if (!/\/(apps|packages)\/[^/]+\/(src|dist)\//.test(n.callFrame.url)) continue
        const key = frameOf(n)
        if (!seen.has(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + dt)
        seen.add(key)
      }
    })
    const rows = (m: Map<string, number>) =>
      [...m.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([k, ms]) => [k, fixed(ms, 0), `${fixed((100 * ms) / total)}%`])
    return [
      `CPU profile ${join(dir, file)}: ${fixed(total / 1000, 2)} s sampled` +
        (window === undefined
          ? ""
          : ` from ${fixed((window.fromUs - profile.startTime) / 1e6, 1)} s to ${fixed((window.toUs - profile.startTime) / 1e6, 1)} s of the run`),
      "",
      table(["self time by area", "ms", "share"], "lrr", rows(area)),
      "",
      table(["self time by function", "ms", "share"], "lrr", rows(self)),
      "",
      table(["inclusive time, project functions", "ms", "share"], "lrr", rows(inclusive))
    ].join("\n")
  })
