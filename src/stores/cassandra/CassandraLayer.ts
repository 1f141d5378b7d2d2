/**
 * The Cassandra store under its first names, kept for one release. New code imports CassandraStore:
 * there `layerConfig` takes a Config (Effect's meaning), and the environment is `layerFromEnv()`.
 */
import type { ConfigError, Layer } from "effect"
import type { StoreError } from "../../domain/Errors.js"
import type { LockRepository } from "../../ports/LockRepository.js"
import type { StatusRepository } from "../../ports/StatusRepository.js"
import * as CassandraStore from "./CassandraStore.js"

/** @deprecated Use `CassandraStore.CassandraOptions`. */
export type CassandraOptions = CassandraStore.CassandraOptions
/** @deprecated Use `CassandraStore.CassandraConfig`. */
export type CassandraConfig = CassandraStore.CassandraConfig
/** @deprecated Use `CassandraStore.CassandraStores`. */
export type CassandraStores = CassandraStore.CassandraStores
/** @deprecated Use `CassandraStore.Consistency`. */
export type Consistency = CassandraStore.Consistency
/** @deprecated Use `CassandraStore.SerialConsistency`. */
export type SerialConsistency = CassandraStore.SerialConsistency

/** @deprecated Use `CassandraStore.layer(options)`. */
export const layer = CassandraStore.layer
/** @deprecated Use `CassandraStore.make(options)`. */
export const make = CassandraStore.make
/** @deprecated Use `CassandraStore.config`. */
export const config = CassandraStore.config
/** @deprecated Use `CassandraStore.defaults`. */
export const defaults = CassandraStore.defaults
/** @deprecated Use `CassandraStore.leaseTtlSeconds`. */
export const leaseTtlSeconds = CassandraStore.leaseTtlSeconds
/** @deprecated Use `Metrics.cassandraLwtOutcomeUnknown`. */
export const lwtOutcomeUnknown = CassandraStore.lwtOutcomeUnknown

/** @deprecated Use `CassandraStore.layerConfig(config)`. */
export const layerFromConfig = CassandraStore.layerConfig

/** @deprecated Use `CassandraStore.layerFromEnv()`. */
export const layerConfig: Layer.Layer<
  LockRepository | StatusRepository,
  StoreError | ConfigError.ConfigError
> = CassandraStore.layerFromEnv()
