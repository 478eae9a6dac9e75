export { DaemonLive } from "./Daemon.js"
export { MigrateLive } from "./Infra.js"
