#!/usr/bin/env node
// The compiled CLI when `npm run build` made one, else its sources through tsx (with the repository's tsconfig paths).
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const compiled = new URL("../dist/main.js", import.meta.url)
if (existsSync(fileURLToPath(compiled))) {
  await import(compiled.href)
} else {
  const { register } = await import("tsx/esm/api")
  register({ tsconfig: fileURLToPath(new URL("../../../tsconfig.json", import.meta.url)) })
  await import(new URL("../src/main.ts", import.meta.url).href)
}
