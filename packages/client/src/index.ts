import { Api } from "@cliq-mirror/api/Api"
import { BULK_TYPES, type BulkType } from "@cliq-mirror/api/BulkApi"
import { parseTime } from "@cliq-mirror/api/Params"
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Context, type Effect, Layer, Redacted } from "effect"

export interface ClientOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string
  /** One of the API's bearer tokens (`API_TOKEN`). */
  readonly token: Redacted.Redacted<string> | string
}

/** The typed client of the whole API, derived from its definition: one method per endpoint, grouped as the API is. */
export const makeClient = (options: ClientOptions) =>
  HttpApiClient.make(Api, {
    baseUrl: options.url,
    transformClient: HttpClient.mapRequest(
      HttpClientRequest.bearerToken(typeof options.token === "string" ? options.token : Redacted.value(options.token))
    )
  })

export type CliqMirrorClientShape = Effect.Effect.Success<ReturnType<typeof makeClient>>

export class CliqMirrorClient extends Context.Tag("@cliq-mirror/client/CliqMirrorClient")<
  CliqMirrorClient,
  CliqMirrorClientShape
>() {}

/** The client over whichever HttpClient is provided (tests: one aimed at a test server). */
export const layerWithoutHttpClient = (options: ClientOptions) => Layer.effect(CliqMirrorClient, makeClient(options))

/** The client over `fetch`. */
export const layer = (options: ClientOptions) =>
  layerWithoutHttpClient(options).pipe(Layer.provide(FetchHttpClient.layer))

export { Api, BULK_TYPES, type BulkType, parseTime }
