export * from "./Database.js"
export * from "./DatabaseConfig.js"
export * from "./Migrator.js"
export * as schema from "./schema.js"
