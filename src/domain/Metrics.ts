import { Metric, MetricBoundaries } from "effect"

/**
 * Every metric of the library, named `ha_jobs_*` (Effect Metrics; the HTTP layer renders them as
 * Prometheus text). Stores count here too, never in metrics of their own.
 */

/** Final statuses written, tagged job_type and state. */
export const executions = Metric.counter("ha_jobs_executions_total", {
  description: "Executions ended, by job type and final state",
  incremental: true,
})

/** Renewal round trips in milliseconds, tagged lock_type. */
export const renewalLatency = Metric.histogram(
  "ha_jobs_lease_renewal_latency_ms",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 14 }),
  "Lease renewal round trip in milliseconds",
)

/** Leases lost, tagged lock_type and reason (rejected, deadline). */
export const leaseLosses = Metric.counter("ha_jobs_lease_losses_total", {
  description: "Leases lost, by lock type and reason",
  incremental: true,
})

/**
 * From a lease loss to the end of the job fiber, in milliseconds, tagged lock_type. The library
 * interrupts at once; what takes time is the job's own finalizers. Above the lease margin, another
 * instance may already hold the lock while the job still runs.
 */
export const lossToStop = Metric.histogram(
  "ha_jobs_lease_loss_stop_ms",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 16 }),
  "From a lease loss to the end of the job, in milliseconds",
)

/** How late a cron slot fired, in milliseconds, tagged job_type. */
export const scheduleLag = Metric.histogram(
  "ha_jobs_schedule_lag_ms",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 16 }),
  "Delay between a cron slot and its firing, in milliseconds",
)

/** When a job type's newest successful execution ended (epoch seconds; 0: none known), tagged job_type. Set for job types with `expect` or `maxDuration` (Expectations). */
export const lastSuccessTimestamp = Metric.gauge("ha_jobs_last_success_timestamp_seconds", {
  description:
    "When the job type's newest successful execution ended, in seconds since the epoch (0: none known)",
})

/** 1 while a job type has had no success within its `expect.successWithin`, else 0; tagged job_type. */
export const overdue = Metric.gauge("ha_jobs_overdue", {
  description: "1 while the job type has not succeeded within its expect.successWithin",
})

/** Executions of a job type running longer than its `maxDuration`, tagged job_type. */
export const overrunning = Metric.gauge("ha_jobs_overrunning", {
  description: "Executions of the job type running longer than its maxDuration",
})

/** Slots not run because the previous run still held the lock (each an `overlap` job event), tagged job_type. */
export const skippedSlots = Metric.counter("ha_jobs_skipped_slots_total", {
  description: "Cron slots skipped because the lock was held (overlap)",
  incremental: true,
})

/** Cron slots claimed but not run because the job type was paused (one count per slot, cluster-wide), tagged job_type. */
export const pausedSlots = Metric.counter("ha_jobs_paused_slots_total", {
  description: "Cron slots not run because an operator paused the job type",
  incremental: true,
})

/** Cron slots not fired (store unreachable until the slot was superseded, or a paused process), tagged job_type. */
export const missedSlots = Metric.counter("ha_jobs_missed_slots_total", {
  description:
    "Cron slots not fired: the store stayed unreachable, or the process was paused past the misfire threshold",
  incremental: true,
})

/** Job events dropped unwritten: more than MaxPendingEvents waited for an unreachable store (JobEvents). */
export const eventsDropped = Metric.counter("ha_jobs_events_dropped_total", {
  description: "Job events dropped unwritten because more than 1,000 waited for the store",
  incremental: true,
})

/** Retries started by the supervisor, tagged job_type. */
export const retries = Metric.counter("ha_jobs_retries_total", {
  description: "Failed triggers run again by the supervisor",
  incremental: true,
})

/** Executions marked DEAD by the supervisor, tagged job_type. */
export const dead = Metric.counter("ha_jobs_dead_total", {
  description: "Executions marked DEAD by the supervisor",
  incremental: true,
})

/**
 * Cassandra lightweight transactions whose outcome was unknown (a timeout after the request was
 * sent) and was resolved by a serial read, tagged operation. Named
 * `effect_ha_jobs_cassandra_lwt_outcome_unknown` in 0.1.
 */
export const cassandraLwtOutcomeUnknown = Metric.counter("ha_jobs_cassandra_lwt_outcome_unknown_total", {
  description:
    "Cassandra lightweight transactions whose outcome was unknown (timeout) and was resolved by a serial read",
  incremental: true,
})

/**
 * Cassandra status writes sent as an unlogged batch because a logged one had timed out lately (a
 * node down that gossip has not convicted yet holds up the batchlog); see CassandraStatuses.
 */
export const cassandraBatchUnlogged = Metric.counter("ha_jobs_cassandra_status_batch_unlogged_total", {
  description: "Cassandra status writes sent unlogged because a logged batch timed out lately",
  incremental: true,
})

/**
 * How the lock operations that met an unknown LWT outcome ended, tagged operation and resolution
 * (acquire: acquired | held; renew: renewed | lost | cancel-requested; release: released | not-held;
 * claimSlot: claimed | claimed-by-another; any: failed, a StoreError after a second timeout).
 */
export const cassandraLwtOutcomeResolved = Metric.counter("ha_jobs_cassandra_lwt_outcome_resolved_total", {
  description: "Cassandra lock operations that met an unknown LWT outcome, by how they ended",
  incremental: true,
})
