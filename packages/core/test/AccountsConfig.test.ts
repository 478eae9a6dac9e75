import { FileSystem } from "@effect/platform"
import { SystemError } from "@effect/platform/Error"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Redacted } from "effect"
import type { Account } from "../src/Accounts/Account.js"
import { loadAccounts } from "../src/Accounts/AccountsConfig.js"

const SECRET = "1000.s3cr3t-access.token"
const REFRESH = "1000.s3cr3t-refresh.token"
const CLIENT_SECRET = "client-s3cr3t"

const files = (content: Record<string, string>) =>
  FileSystem.layerNoop({
    readFileString: path =>
      path in content
        ? Effect.succeed(content[path]!)
        : Effect.fail(
            new SystemError({
              reason: "NotFound",
              module: "FileSystem",
              method: "readFileString",
              pathOrDescriptor: path
            })
          )
  })

const load = (env: Record<string, string>, content: Record<string, string> = {}) =>
  loadAccounts.pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
    Effect.provide(files(content))
  )

const failure = (env: Record<string, string>, content: Record<string, string> = {}) =>
  Effect.map(Effect.flip(load(env, content)), e => e.message)

const fileEnv = { CLIQ_ACCOUNTS_FILE: "/etc/accounts.json" }
const withFile = (accounts: unknown) => ({ "/etc/accounts.json": JSON.stringify(accounts) })

const expectNoSecrets = (text: string) => {
  for (const s of [SECRET, REFRESH, CLIENT_SECRET]) expect(text).not.toContain(s)
}

describe("single account from CLIQ_*", () => {
  it.effect("a static token with every default", () =>
    Effect.gen(function* () {
      const [account] = yield* load({ CLIQ_ACCESS_TOKEN: SECRET })
      expect(account.id).toBe("default")
      expect(account.baseUrl).toBe("https://cliq.zoho.com/api/v3")
      expect(account.accountsUrl).toBe("https://accounts.zoho.com")
      expect(account.authScheme).toBe("Zoho-oauthtoken")
      expect(account.clientKey).toBe("default")
      expect(account.auth._tag === "Static" && Redacted.value(account.auth.token)).toBe(SECRET)
      expectNoSecrets(JSON.stringify(account))
      expectNoSecrets(String(account.auth._tag === "Static" ? account.auth.token : ""))
    })
  )

  it.effect("the refresh flow with its own id and data centre", () =>
    Effect.gen(function* () {
      const accounts = yield* load({
        CLIQ_CLIENT_ID: "1000.CLIENT",
        CLIQ_CLIENT_SECRET: CLIENT_SECRET,
        CLIQ_REFRESH_TOKEN: REFRESH,
        CLIQ_ACCOUNT_ID: "eu-team_1",
        CLIQ_API_BASE_URL: "https://cliq.zoho.eu/api/v3/",
        CLIQ_ACCOUNTS_URL: "https://accounts.zoho.eu"
      })
      expect(accounts).toHaveLength(1)
      const account: Account = accounts[0]
      expect(account).toMatchObject({
        id: "eu-team_1",
        baseUrl: "https://cliq.zoho.eu/api/v3",
        accountsUrl: "https://accounts.zoho.eu",
        clientKey: "1000.CLIENT",
        auth: { _tag: "Refresh", clientId: "1000.CLIENT" }
      })
      expectNoSecrets(JSON.stringify(account))
    })
  )

  it.effect("nothing configured names the variables", () =>
    Effect.gen(function* () {
      const message = yield* failure({})
      expect(message).toMatch(/^CLIQ_ACCESS_TOKEN: /)
      expect(message).toContain("CLIQ_CLIENT_ID + CLIQ_CLIENT_SECRET + CLIQ_REFRESH_TOKEN")
      expect(message).toContain("CLIQ_ACCOUNTS_FILE")
      expect(yield* failure({ CLIQ_ACCESS_TOKEN: "   " })).toMatch(/^CLIQ_ACCESS_TOKEN: not set/)
    })
  )

  it.effect("a static token and refresh credentials together are refused", () =>
    Effect.gen(function* () {
      const message = yield* failure({ CLIQ_ACCESS_TOKEN: SECRET, CLIQ_REFRESH_TOKEN: REFRESH })
      expect(message).toMatch(/^CLIQ_ACCESS_TOKEN: set either/)
      expectNoSecrets(message)
    })
  )

  it.effect("an incomplete refresh triple names the missing variable", () =>
    Effect.gen(function* () {
      expect(yield* failure({ CLIQ_CLIENT_ID: "c", CLIQ_REFRESH_TOKEN: REFRESH })).toMatch(
        /^CLIQ_CLIENT_SECRET: required/
      )
      expect(yield* failure({ CLIQ_CLIENT_SECRET: CLIENT_SECRET, CLIQ_REFRESH_TOKEN: REFRESH })).toMatch(
        /^CLIQ_CLIENT_ID: required/
      )
      expect(yield* failure({ CLIQ_CLIENT_ID: "c", CLIQ_CLIENT_SECRET: CLIENT_SECRET })).toMatch(
        /^CLIQ_REFRESH_TOKEN: required/
      )
    })
  )

  it.effect("malformed URLs and ids name the variable and the rule", () =>
    Effect.gen(function* () {
      expect(yield* failure({ CLIQ_ACCESS_TOKEN: SECRET, CLIQ_API_BASE_URL: "cliq.zoho.com" })).toBe(
        "CLIQ_API_BASE_URL: must be an http(s) URL"
      )
      expect(yield* failure({ CLIQ_ACCESS_TOKEN: SECRET, CLIQ_ACCOUNTS_URL: "ftp://accounts.zoho.com" })).toBe(
        "CLIQ_ACCOUNTS_URL: must be an http(s) URL"
      )
      expect(yield* failure({ CLIQ_ACCESS_TOKEN: SECRET, CLIQ_ACCOUNT_ID: "has space" })).toBe(
        "CLIQ_ACCOUNT_ID: must match ^[A-Za-z0-9_-]{1,64}$"
      )
    })
  )
})

describe("many accounts from CLIQ_ACCOUNTS_FILE", () => {
  it.effect("decodes every entry; env URLs are the defaults", () =>
    Effect.gen(function* () {
      const accounts = yield* load(
        { ...fileEnv, CLIQ_API_BASE_URL: "http://127.0.0.1:4010/api/v3" },
        withFile([
          { id: "a", access_token: SECRET, auth_scheme: "Bearer" },
          {
            id: "b",
            client_id: "cid",
            client_secret: CLIENT_SECRET,
            refresh_token: REFRESH,
            base_url: "https://cliq.zoho.in/api/v3",
            accounts_url: "https://accounts.zoho.in/"
          }
        ])
      )
      expect(accounts.map(a => [a.id, a.baseUrl, a.accountsUrl, a.authScheme, a.clientKey])).toEqual([
        ["a", "http://127.0.0.1:4010/api/v3", "https://accounts.zoho.com", "Bearer", "a"],
        ["b", "https://cliq.zoho.in/api/v3", "https://accounts.zoho.in", "Zoho-oauthtoken", "cid"]
      ])
    })
  )

  it.effect("a static token may name its OAuth client: accounts of one client share its client key", () =>
    Effect.gen(function* () {
      const accounts = yield* load(
        fileEnv,
        withFile([
          { id: "a", access_token: SECRET, client_id: "1000.SHARED" },
          { id: "b", access_token: `${SECRET}-b`, client_id: "1000.SHARED" },
          { id: "c", client_id: "1000.SHARED", client_secret: CLIENT_SECRET, refresh_token: REFRESH },
          { id: "d", access_token: `${SECRET}-d` }
        ])
      )
      expect(accounts.map(a => [a.id, a.auth._tag, a.clientKey])).toEqual([
        ["a", "Static", "1000.SHARED"],
        ["b", "Static", "1000.SHARED"],
        ["c", "Refresh", "1000.SHARED"],
        ["d", "Static", "d"]
      ])
      expect(yield* failure(fileEnv, withFile([{ id: "a", access_token: SECRET, client_id: " " }]))).toBe(
        "CLIQ_ACCOUNTS_FILE accounts[0].client_id: must be a non-empty string"
      )
      const both = yield* failure(
        fileEnv,
        withFile([{ id: "a", access_token: SECRET, client_id: "c", client_secret: CLIENT_SECRET }])
      )
      expect(both).toMatch(
        /^CLIQ_ACCOUNTS_FILE accounts\[0\]\.access_token: set either access_token \(with an optional client_id\)/
      )
      expectNoSecrets(both)
    })
  )

  it.effect("names the entry, the field and the rule", () =>
    Effect.gen(function* () {
      const good = { id: "a", access_token: SECRET }
      expect(
        yield* failure(
          fileEnv,
          withFile([good, { id: "b", access_token: SECRET }, { ...good, id: "c", base_url: "nope" }])
        )
      ).toBe("CLIQ_ACCOUNTS_FILE accounts[2].base_url: must be an http(s) URL")
      expect(yield* failure(fileEnv, withFile([good, { ...good }]))).toBe(
        'CLIQ_ACCOUNTS_FILE accounts[1].id: "a" is used by an earlier account'
      )
      expect(yield* failure(fileEnv, withFile([{ ...good, id: "x/y" }]))).toBe(
        "CLIQ_ACCOUNTS_FILE accounts[0].id: must match ^[A-Za-z0-9_-]{1,64}$"
      )
      expect(yield* failure(fileEnv, withFile([{ access_token: SECRET }]))).toBe(
        "CLIQ_ACCOUNTS_FILE accounts[0].id: is missing"
      )
      expect(yield* failure(fileEnv, withFile([{ id: "a" }]))).toMatch(
        /^CLIQ_ACCOUNTS_FILE accounts\[0\]: needs access_token/
      )
      expect(yield* failure(fileEnv, withFile([{ id: "a", client_id: "c", refresh_token: REFRESH }]))).toMatch(
        /^CLIQ_ACCOUNTS_FILE accounts\[0\]\.client_secret: required/
      )
      expect(yield* failure(fileEnv, withFile([{ ...good, refresh_token: REFRESH }]))).toMatch(
        /^CLIQ_ACCOUNTS_FILE accounts\[0\]\.access_token: set either/
      )
      expect(yield* failure(fileEnv, withFile([{ ...good, auth_scheme: "Basic" }]))).toMatch(
        /^CLIQ_ACCOUNTS_FILE accounts\[0\]\.auth_scheme: /
      )
      expect(yield* failure(fileEnv, withFile([{ ...good, acess_token: "typo" }]))).toMatch(
        /^CLIQ_ACCOUNTS_FILE accounts\[0\]\.acess_token: is unexpected/
      )
      expect(yield* failure(fileEnv, withFile([]))).toBe(
        "CLIQ_ACCOUNTS_FILE: must be a non-empty JSON list of accounts"
      )
      expect(yield* failure(fileEnv, withFile({ accounts: [good] }))).toBe(
        "CLIQ_ACCOUNTS_FILE: must be a non-empty JSON list of accounts"
      )
    })
  )

  it.effect("never quotes a secret, even from a malformed file", () =>
    Effect.gen(function* () {
      const broken = yield* failure(fileEnv, { "/etc/accounts.json": `[{"id": "a", "access_token": "${SECRET}",]` })
      expect(broken).toBe("CLIQ_ACCOUNTS_FILE: must be valid JSON")
      const wrongType = yield* failure(fileEnv, withFile([{ id: "a", access_token: 1000123456789 }]))
      expect(wrongType).toBe("CLIQ_ACCOUNTS_FILE accounts[0].access_token: must be a non-empty string")
      expect(wrongType).not.toContain("1000123456789")
      expectNoSecrets(
        yield* failure(fileEnv, withFile([{ id: "a", access_token: SECRET, client_secret: CLIENT_SECRET }]))
      )
    })
  )

  it.effect("a missing file and a mix with single-account credentials are refused", () =>
    Effect.gen(function* () {
      expect(yield* failure(fileEnv)).toBe("CLIQ_ACCOUNTS_FILE: cannot read /etc/accounts.json (NotFound)")
      expect(
        yield* failure({ ...fileEnv, CLIQ_ACCESS_TOKEN: SECRET }, withFile([{ id: "a", access_token: SECRET }]))
      ).toMatch(/^CLIQ_ACCOUNTS_FILE: cannot be combined/)
    })
  )
})
