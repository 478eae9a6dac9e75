export type { BucketTable } from "@cliq-mirror/core"
export type { AccessTokenRecord, IssueTokenInput } from "./Auth.js"
export type {
  AccountTruth,
  CreateChatInput,
  IssuedToken,
  PersonTruth,
  PostMessageInput,
  PostMessagesInput,
  UserStateInput
} from "./ControlTypes.js"
export { SimulatorControlError } from "./ControlTypes.js"
export type { ArmedFault, FaultKind, FaultSpec } from "./Faults.js"
export type { RefreshTokenConfig, ResolvedOptions, SimulatorOptions } from "./Options.js"
export type { RequestLogEntry, Violation } from "./RequestLog.js"
export { type RunningSimulator, startSimulator } from "./Simulator.js"
export { SimulatorServer, SimulatorStartError } from "./SimulatorServer.js"
export { SimulatorState } from "./State.js"
export type { ThrottleSlotStatus } from "./Throttle.js"
export type { ChatTruth, ChatUserTruth, MessageTruth } from "./Truth.js"
