/**
 * effect-ha-jobs: every module is exported as a namespace, as Effect's own packages do
 * (`Job.make`, `JobContext.JobContext`, `Errors.StoreError`, `MemoryStore.layer`). The folders and
 * what each may import: docs/architecture.md.
 *
 * Deprecated for one release (the 0.1 names): the flat exports (`export * from`), `JobMetrics`,
 * `CassandraLayer`, `SqliteLayer`, `StoreLayer`, `MemoryLayer` and `makeMemoryStores`. Where a flat
 * name equals a namespace's (JobContext, JobOutcome, JobStatus, LockRepository...) the namespace
 * wins; README's "Old names (deprecated)" lists the new spellings.
 */

export * as Backfill from "./core/Backfill.js"
export * as Expectations from "./core/Expectations.js"
export * as Job from "./core/Job.js"
export * as JobContext from "./core/JobContext.js"
export * as JobEvents from "./core/JobEvents.js"
export * as JobManager from "./core/JobManager.js"
export * as JobParams from "./core/JobParams.js"
export * as JobRunner from "./core/JobRunner.js"
export * as Lease from "./core/Lease.js"
export * as Scheduler from "./core/Scheduler.js"
export * as Content from "./domain/Content.js"
export * from "./domain/Content.js"
export * as CronSchedule from "./domain/CronSchedule.js"
export * from "./domain/CronSchedule.js"
export * as Errors from "./domain/Errors.js"
export * from "./domain/Errors.js"
export * as Ids from "./domain/Ids.js"
export * from "./domain/Ids.js"
export * as JobEvent from "./domain/JobEvent.js"
export * as JobOutcome from "./domain/JobOutcome.js"
export * as JobState from "./domain/JobState.js"
export * as JobStatus from "./domain/JobStatus.js"
export * as LeaseTiming from "./domain/LeaseTiming.js"
export * from "./domain/LeaseTiming.js"
export * as Metrics from "./domain/Metrics.js"
/** @deprecated Use Metrics. */
export * as JobMetrics from "./domain/Metrics.js"
export * as Names from "./domain/Names.js"
export * from "./domain/Names.js"
export * as StatusFields from "./domain/StatusFields.js"
export * as TriggerResult from "./domain/TriggerResult.js"
export * as Env from "./Env.js"
export * as HaJobs from "./HaJobs.js"
export * as HaJobsHttp from "./http/HaJobsHttp.js"
export * as Supervisor from "./jobs/Supervisor.js"
export type { AcquireResult, LeaseKey, LockHolder, RenewResult } from "./ports/LockRepository.js"
export * as LockRepository from "./ports/LockRepository.js"
export type { ListOptions } from "./ports/StatusRepository.js"
export * as StatusRepository from "./ports/StatusRepository.js"
/** @deprecated Use CassandraStore. */
export * as CassandraLayer from "./stores/cassandra/CassandraLayer.js"
export * as CassandraMigrator from "./stores/cassandra/CassandraMigrator.js"
export * as CassandraStore from "./stores/cassandra/CassandraStore.js"
export { MemoryLayer, makeMemoryStores } from "./stores/memory/MemoryLayer.js"
export * as MemoryStore from "./stores/memory/MemoryStore.js"
export * as PgStore from "./stores/pg/PgStore.js"
export * as Store from "./stores/Store.js"
/** @deprecated Use Store. */
export * as StoreLayer from "./stores/StoreLayer.js"
export * as SqlStore from "./stores/sql/SqlStore.js"
/** @deprecated Use SqliteStore. */
export * as SqliteLayer from "./stores/sqlite/SqliteLayer.js"
export * as SqliteStore from "./stores/sqlite/SqliteStore.js"
