import { Effect } from "effect"
import postgres from "postgres"
import type { TestProject } from "vitest/node"
import { migrateDatabase } from "../../packages/db/src/Migrator.js"
import { databaseUrlFor } from "./urls.js"

declare module "vitest" {
  export interface ProvidedContext {
    readonly databaseUrl: string
    readonly redisUrl: string
    readonly templateDatabase: string
  }
}

const NO_SERVICES = [
  "Tests need PostgreSQL and Redis. Either set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)",
  "and REDIS_URL (e.g. redis://127.0.0.1:6379), or run a Docker engine so that testcontainers can start",
  "postgres:16 and redis:7."
].join(" ")

const startContainers = async (): Promise<{ databaseUrl: string; redisUrl: string; stop: () => Promise<void> }> => {
  try {
    const { PostgreSqlContainer } = await import("@testcontainers/postgresql")
    const { RedisContainer } = await import("@testcontainers/redis")
    const [pg, redis] = await Promise.all([
      new PostgreSqlContainer("postgres:16").start(),
      new RedisContainer("redis:7").start()
    ])
    return {
      databaseUrl: pg.getConnectionUri(),
      redisUrl: redis.getConnectionUrl(),
      stop: async () => {
        await Promise.all([pg.stop(), redis.stop()])
      }
    }
  } catch (cause) {
    throw new Error(`${NO_SERVICES} (testcontainers: ${cause instanceof Error ? cause.message : String(cause)})`)
  }
}

export default async function setup(project: TestProject) {
  const fromEnv = process.env.DATABASE_URL && process.env.REDIS_URL
  const services = fromEnv
    ? { databaseUrl: process.env.DATABASE_URL!, redisUrl: process.env.REDIS_URL!, stop: async () => {} }
    : await startContainers()

  const templateDatabase = `cliq_test_template_${process.pid}_${Date.now().toString(36)}`
  const admin = postgres(services.databaseUrl, { max: 1, onnotice: () => {} })
  try {
    await admin`select 1`
  } catch (cause) {
    await admin.end({ timeout: 1 })
    throw new Error(
      `${NO_SERVICES} (PostgreSQL at DATABASE_URL: ${cause instanceof Error ? cause.message : String(cause)})`
    )
  }
  await admin.unsafe(`create database "${templateDatabase}"`)
  await Effect.runPromise(migrateDatabase(databaseUrlFor(services.databaseUrl, templateDatabase)))

  project.provide("databaseUrl", services.databaseUrl)
  project.provide("redisUrl", services.redisUrl)
  project.provide("templateDatabase", templateDatabase)

  return async () => {
    await admin.unsafe(`drop database if exists "${templateDatabase}" with (force)`)
    await admin.end({ timeout: 5 })
    await services.stop()
  }
}
