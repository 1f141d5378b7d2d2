/** The store from the environment under its first names, kept for one release. New code imports Store. */
import type { ConfigError, Layer } from "effect"
import type { StoreError } from "../domain/Errors.js"
import * as Env from "../Env.js"
import type { LockRepository } from "../ports/LockRepository.js"
import type { StatusRepository } from "../ports/StatusRepository.js"
import * as Store from "./Store.js"

/** @deprecated Use `Env.Store.config` (the `HA_JOBS_STORE` setting). */
export const StoreKind = Env.Store.config

/** @deprecated Use `Store.layerFromEnv()`. */
export const layerConfig: Layer.Layer<
  LockRepository | StatusRepository,
  StoreError | ConfigError.ConfigError
> = Store.layerFromEnv()

/** @deprecated Use `Store.describeFromEnv`. */
export const describe = Store.describeFromEnv
