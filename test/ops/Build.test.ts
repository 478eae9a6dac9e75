import { existsSync, readdirSync, readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8")
const json = (path: string) => JSON.parse(read(path))

const sources = (workspace: string) =>
  readdirSync(new URL(`../../${workspace}/src`, import.meta.url), { recursive: true, encoding: "utf8" })
    .filter(file => file.endsWith(".ts"))
    .map(file => read(`${workspace}/src/${file}`))

const root = json("package.json")
const WORKSPACES: ReadonlyArray<string> = root.workspaces
const { paths } = json("tsconfig.json").compilerOptions
const build = json("tsconfig.build.json")

describe("the build", () => {
  it("compiles every workspace, each after the workspaces it imports", () => {
    assert.sameMembers(
      build.references.map((r: { path: string }) => r.path),
      WORKSPACES.map(w => `./${w}/tsconfig.build.json`)
    )
    for (const workspace of WORKSPACES) {
      const config = json(`${workspace}/tsconfig.build.json`)
      assert.deepInclude(config.compilerOptions, { rootDir: "src", outDir: "dist", composite: true }, workspace)
      const imported = new Set(
        sources(workspace).flatMap(text =>
          [...text.matchAll(/from "@cliq-mirror\/([a-z]+)/g)].map(m => WORKSPACES.find(w => w.endsWith(`/${m[1]}`))!)
        )
      )
      const referenced = (config.references ?? []).map((r: { path: string }) =>
        r.path.replace("../../", "").replace("/tsconfig.build.json", "")
      )
      for (const dependency of imported) assert.include(referenced, dependency, `${workspace} imports ${dependency}`)
    }
  })

  it("runs the compiled output under plain node and the sources under tsx and vitest", () => {
    for (const workspace of WORKSPACES) {
      const { name, exports } = json(`${workspace}/package.json`)
      for (const [subpath, target] of Object.entries<{ types: string; default: string }>(exports)) {
        assert.match(target.default, /^\.\/dist\/.*\.js$/, `${name} ${subpath}`)
        assert.strictEqual(target.types, target.default.replace("./dist/", "./src/").replace(/\.js$/, ".ts"))
        const alias = `${name}${subpath.slice(1)}`
        assert.deepStrictEqual(paths[alias], [`./${workspace}/${target.types.slice(2)}`], alias)
      }
    }
  })

  it("has a compiled entry for each production script", () => {
    for (const script of ["start:prod", "daemon:prod", "api:prod", "migrate:prod", "compact:prod"]) {
      const [command, entry] = root.scripts[script].split(" ")
      assert.strictEqual(command, "node", script)
      assert.isTrue(
        existsSync(new URL(`../../${entry.replace("/dist/", "/src/").replace(/\.js$/, ".ts")}`, import.meta.url))
      )
    }
  })
})

describe("the Dockerfile", () => {
  const dockerfile = read("Dockerfile")
  const runtime = dockerfile.slice(dockerfile.indexOf("AS runtime"))

  it("builds on Node 24 and ships only the compiled output and production dependencies", () => {
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:24-bookworm-slim$/m)
    assert.match(dockerfile, /^FROM \$\{NODE_IMAGE\} AS build$/m)
    assert.match(dockerfile, /^RUN npm run build$/m)
    assert.match(runtime, /^RUN npm ci --omit=dev /m)
    for (const workspace of WORKSPACES) {
      assert.include(runtime, `COPY ${workspace}/package.json ${workspace}/`)
      assert.include(runtime, `COPY --from=build /app/${workspace}/dist ${workspace}/dist`)
    }
    assert.notInclude(runtime, "tsx")
  })

  it("runs node as PID 1 as a non-root user, tuned, with a healthcheck", () => {
    assert.match(runtime, /^USER node$/m)
    assert.match(runtime, /^CMD \["node", "apps\/server\/dist\/main\.js"\]$/m)
    assert.match(runtime, /^HEALTHCHECK /m)
    assert.include(runtime, "MALLOC_MMAP_THRESHOLD_=268435456")
    assert.include(runtime, "MALLOC_TRIM_THRESHOLD_=268435456")
  })

  it("leaves build output, dependencies, tests and secrets out of the context", () => {
    const ignored = read(".dockerignore").split("\n")
    for (const entry of ["**/node_modules", "**/dist", ".git", ".env", "test"]) assert.include(ignored, entry)
  })
})
