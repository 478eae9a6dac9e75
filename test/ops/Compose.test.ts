import { readFileSync } from "node:fs"
import { DEMO_TIME_SCALE } from "@cliq-mirror/demo/DemoUpstream"
import { resolveOptions } from "@cliq-mirror/simulator/Options"
import { assert, describe, it } from "@effect/vitest"
import { parse } from "yaml"

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8")

interface Service {
  readonly image?: string
  readonly build?: { readonly context: string; readonly target: string }
  readonly command?: ReadonlyArray<string>
  readonly profiles?: ReadonlyArray<string>
  readonly environment?: Record<string, string | number>
  readonly depends_on?: Record<string, { readonly condition: string }>
  readonly healthcheck?: { readonly test: ReadonlyArray<string> }
  readonly ports?: ReadonlyArray<string>
}

const text = read("docker-compose.yml")
const compose: { readonly services: Record<string, Service> } = parse(text, { merge: true })
const services = compose.services
const service = (name: string): Service => {
  const found = services[name]
  assert.isDefined(found, `service ${name}`)
  return found!
}

/** What docker compose substitutes with no variable set: `${NAME:-default}` → default; anything else is an error. */
const interpolateWithNothingSet = (value: string | number) =>
  String(value).replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (whole, _name, fallback: string | undefined) => {
    if (fallback === undefined) throw new Error(`${whole} has no default`)
    return fallback
  })

const env = (name: string) =>
  Object.fromEntries(
    Object.entries(service(name).environment ?? {}).map(([k, v]) => [k, interpolateWithNothingSet(v)] as const)
  )

/** The daemon and the API of one deployment agree on everything but their own role. */
const shared = (name: string) => {
  const { API_HOST: _h, API_PORT: _p, API_TOKEN: _t, DAEMON_HEARTBEAT_FILE: _f, ...rest } = env(name)
  return rest
}

const APP = ["daemon", "api", "demo-daemon", "demo-api"]
const CLIQ = ["daemon", "api"]
const DEMO = ["simulator", "demo-daemon", "demo-api"]

/** The services `docker compose [--profile p …] up` starts: those without a profile, and those of an enabled one. */
const startedWith = (...profiles: ReadonlyArray<string>) =>
  Object.entries(services)
    .filter(([, s]) => s.profiles === undefined || s.profiles.some(p => profiles.includes(p)))
    .map(([name]) => name)

describe("docker-compose.yml", () => {
  it("runs the Cliq deployment with --profile cliq, the demo alone with --profile demo, the databases by default", () => {
    assert.sameMembers(Object.keys(services), ["postgres", "redis", ...CLIQ, ...DEMO])
    assert.sameMembers(startedWith(), ["postgres", "redis"])
    assert.sameMembers(startedWith("cliq"), ["postgres", "redis", ...CLIQ])
    assert.sameMembers(startedWith("demo"), ["postgres", "redis", ...DEMO])
    assert.include(env("daemon").CLIQ_API_BASE_URL, "zoho.com")
    for (const name of startedWith("demo")) assert.notInclude(env(name).CLIQ_API_BASE_URL ?? "", "zoho", name)
  })

  it("starts nothing that depends on a service its profile leaves out", () => {
    for (const profiles of [[], ["cliq"], ["demo"]]) {
      const started = startedWith(...profiles)
      for (const name of started) {
        for (const dependency of Object.keys(service(name).depends_on ?? {})) {
          assert.include(started, dependency, `${name} with --profile ${profiles.join(",") || "(none)"}`)
        }
      }
    }
  })

  it("needs no variable: every substitution has a default and nothing is required", () => {
    assert.notInclude(text, ":?")
    for (const name of Object.keys(services)) env(name)
    assert.strictEqual(env("api").API_TOKEN, "", "API_TOKEN is checked by the API at start, not by compose")
    assert.isAbove(env("demo-api").API_TOKEN!.length, 0, "the demo has a token without any variable")
    assert.strictEqual(env("simulator").DEMO_API_TOKEN, env("demo-api").API_TOKEN)
  })

  it("builds the image's runtime stage and runs its compiled entry points with node", () => {
    const stages = [...read("Dockerfile").matchAll(/^FROM \S+ AS (\S+)$/gm)].map(m => m[1])
    for (const name of [...APP, "simulator"]) {
      const { build, command } = service(name)
      assert.deepStrictEqual(build, { context: ".", target: "runtime" }, name)
      assert.include(stages, build!.target)
      assert.strictEqual(command![0], "node", name)
      const entry = command![1]!
      assert.match(entry, /^apps\/[a-z]+\/dist\/[A-Za-z]+\.js$/, name)
      assert.doesNotThrow(() => read(entry.replace("/dist/", "/src/").replace(/\.js$/, ".ts")), `${name}: ${entry}`)
    }
  })

  it("starts the apps once PostgreSQL and Redis are healthy, and the demo once its upstream is", () => {
    for (const name of APP) {
      const dependsOn = service(name).depends_on ?? {}
      assert.strictEqual(dependsOn.postgres?.condition, "service_healthy", name)
      assert.strictEqual(dependsOn.redis?.condition, "service_healthy", name)
    }
    assert.strictEqual(service("demo-daemon").depends_on?.simulator?.condition, "service_healthy")
    assert.strictEqual(service("api").depends_on?.daemon?.condition, "service_started")
    assert.strictEqual(service("demo-api").depends_on?.["demo-daemon"]?.condition, "service_started")
  })

  it("wires the apps to the compose network's postgres and redis, the demo to its own database and prefix", () => {
    for (const name of APP) {
      const vars = env(name)
      assert.strictEqual(new URL(vars.DATABASE_URL!).host, "postgres:5432", name)
      assert.strictEqual(new URL(vars.REDIS_URL!).host, "redis:6379", name)
    }
    assert.notStrictEqual(env("demo-daemon").DATABASE_URL, env("daemon").DATABASE_URL)
    assert.isDefined(env("demo-daemon").REDIS_PREFIX)
    assert.deepStrictEqual(shared("demo-api"), shared("demo-daemon"))
    assert.deepStrictEqual(shared("api"), shared("daemon"))
  })

  it("points the demo at the simulator as it listens, with its first seeded token and time scale", () => {
    const sim = env("simulator")
    assert.strictEqual(sim.SIMULATOR_HOST, "0.0.0.0")
    for (const name of ["demo-daemon", "demo-api"]) {
      const vars = env(name)
      const base = new URL(vars.CLIQ_API_BASE_URL!)
      assert.strictEqual(base.hostname, "simulator", name)
      assert.strictEqual(base.port, sim.SIMULATOR_PORT, name)
      assert.strictEqual(base.pathname, "/api/v3", name)
      assert.strictEqual(vars.CLIQ_ACCESS_TOKEN, resolveOptions({}).tokens[0], name)
      assert.strictEqual(Number(vars.CLIQ_TIME_SCALE), DEMO_TIME_SCALE, name)
    }
    const [published] = interpolateWithNothingSet(service("demo-api").ports![0]!).split(":")
    assert.strictEqual(sim.DEMO_API_URL, `http://localhost:${published}`)
  })

  it("checks health: the daemon by its heartbeat file, the APIs by /readyz, the simulator by its control API", () => {
    for (const name of ["daemon", "demo-daemon"]) {
      const file = env(name).DAEMON_HEARTBEAT_FILE!
      assert.isDefined(file, name)
      assert.include(service(name).healthcheck!.test.join(" "), file, name)
    }
    for (const name of ["api", "demo-api"]) {
      assert.include(service(name).healthcheck!.test.join(" "), `127.0.0.1:${env(name).API_PORT}/readyz`, name)
      assert.strictEqual(env(name).API_HOST, "0.0.0.0", name)
    }
    assert.include(
      service("simulator").healthcheck!.test.join(" "),
      `127.0.0.1:${env("simulator").SIMULATOR_PORT}/_sim`
    )
    assert.include(service("postgres").healthcheck!.test.join(" "), "pg_isready")
    assert.include(service("redis").healthcheck!.test.join(" "), "ping")
  })

  it("publishes PostgreSQL and Redis on the host's loopback only, at ports of the operator's choosing", () => {
    for (const [name, port] of [
      ["postgres", 5432],
      ["redis", 6379]
    ] as const) {
      const [mapping] = service(name).ports ?? []
      assert.include(mapping, `${name.toUpperCase()}_PUBLISH_PORT`)
      assert.strictEqual(interpolateWithNothingSet(mapping!), `127.0.0.1:0:${port}`)
    }
  })
})
