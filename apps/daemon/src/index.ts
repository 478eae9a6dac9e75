export { DaemonSettings } from "./Config.js"
export { DaemonLive } from "./Daemon.js"
export { MigrateLive } from "./Infra.js"
