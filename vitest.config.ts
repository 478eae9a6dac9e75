import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const root = fileURLToPath(new URL(".", import.meta.url))
const { compilerOptions } = JSON.parse(readFileSync(new URL("tsconfig.json", import.meta.url), "utf8"))

// Workspace packages export their compiled dist/; tests run their sources through tsconfig.json's paths (as tsx does).
const alias = Object.entries<Array<string>>(compilerOptions.paths).map(([name, [target]]) => ({
  find: new RegExp(`^${name.replace("*", "(.+)")}$`),
  replacement: `${root}${target!.replace("./", "").replace("*", "$1")}`
}))

export default defineConfig({
  resolve: { alias },
  test: {
    include: ["apps/*/test/**/*.test.ts", "packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["./test/support/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } }
  }
})
