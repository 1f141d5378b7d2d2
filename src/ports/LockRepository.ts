/**
 * src/ports: what a store implements (LockRepository, StatusRepository: the written port
 * contracts, checked on every store by test/conformance) and what the core and the stores share
 * about them (StoreBounds: time bounds on every call; StoreProbe: the store's name, the health
 * probe). May import: `domain`. (docs/architecture.md)
 *
 * This module: leases with fencing tokens, cancel requests, cron slot claims and operator pauses.
 */
import { Context, type Duration, type Effect, type Option } from "effect"
import type { StoreError } from "../domain/Errors.js"
import type { JobId } from "../domain/Ids.js"
import type { JobType, LockType } from "../domain/Names.js"
import type { Pause } from "../domain/Pause.js"

/** Who holds a lock type right now. */
export interface LockHolder {
  readonly lockType: LockType
  readonly jobType: JobType
  readonly jobId: JobId
  readonly token: number
}

/** Who claimed a cron slot: the instance and the claim (`claimSlot`'s claimId). */
export interface SlotClaim {
  readonly instance: string
  /** None for a claim stored before claim ids existed (SQL migration 0002): it matches no claim. */
  readonly claimId: Option.Option<string>
}

export type AcquireResult =
  | { readonly _tag: "Acquired"; readonly token: number }
  | { readonly _tag: "Held"; readonly holder: LockHolder }

/**
 * What one renewal found: extended; rejected because the lease is no longer ours; or still ours but
 * a cancel was requested through the store (not extended, so the holder stops soon either way).
 */
export type RenewResult = "renewed" | "lost" | "cancel-requested"

export interface LeaseKey {
  readonly lockType: LockType
  readonly jobId: JobId
  readonly token: number
}

/**
 * The store port for leases. Every operation is one atomic, conditional store operation: the store
 * decides who holds a lock. Expiry is the store's (server-side TTL or the store's clock).
 */
export class LockRepository extends Context.Tag("effect-ha-jobs/LockRepository")<
  LockRepository,
  {
    /** Takes the lock if free or expired, with a fencing token greater than every earlier one. */
    readonly acquire: (request: {
      readonly lockType: LockType
      readonly jobType: JobType
      readonly jobId: JobId
      readonly ttl: Duration.Duration
    }) => Effect.Effect<AcquireResult, StoreError>
    /** Extends the lease if still ours: exactly one conditional write, no read. */
    readonly renew: (key: LeaseKey, ttl: Duration.Duration) => Effect.Effect<RenewResult, StoreError>
    /** Frees the lock only if it is still ours; true when it was. */
    readonly release: (key: LeaseKey) => Effect.Effect<boolean, StoreError>
    /** The current, unexpired holder. */
    readonly holder: (lockType: LockType) => Effect.Effect<Option.Option<LockHolder>, StoreError>
    /**
     * The current holder and how long its lease has left by the store's clock (milliseconds, more
     * than 0; a store that keeps whole seconds rounds up). For display: nothing decides on it.
     */
    readonly lease: (
      lockType: LockType,
    ) => Effect.Effect<
      Option.Option<{ readonly holder: LockHolder; readonly expiresInMs: number }>,
      StoreError
    >
    /**
     * Asks the holder of `lockType` to cancel if it runs `jobType`; it sees the request at its next
     * renewal. Returns the holder that was asked, if any.
     */
    readonly requestCancel: (
      lockType: LockType,
      jobType: JobType,
    ) => Effect.Effect<Option.Option<LockHolder>, StoreError>
    /**
     * Claims one cron slot (job type + scheduled instant) for `instance`; true for the first
     * claimant only, so each slot runs at most once cluster-wide whatever the instances' clocks say.
     * `claimId` tells this claim from every other (a fresh one per firing, also from the same
     * instance): the same claim sent again, after an attempt whose answer was lost (a timeout, a
     * dropped connection) but whose write landed, is true again; any other claim of a claimed slot
     * is false. So a retry never turns a claim this instance won into a slot nobody runs.
     */
    readonly claimSlot: (claim: {
      readonly jobType: JobType
      readonly slot: number
      readonly instance: string
      readonly claimId: string
    }) => Effect.Effect<boolean, StoreError>
    /**
     * Who claimed the slot, if anyone: read-only, as strong as `claimSlot` itself (a serial read on
     * Cassandra), so a claim whose answer never came (cut off by the scheduler's bound) can be
     * resolved, and a backfill can tell the slots already run.
     * `{ hint: true }`: a cheaper read that may miss a claim being decided at that very moment but
     * never shows one that did not win (on Cassandra a quorum read, not a Paxos round): for an
     * instance deciding whether to send a claim at all, never instead of one.
     */
    readonly slotClaim: (
      jobType: JobType,
      slot: number,
      options?: { readonly hint?: boolean | undefined },
    ) => Effect.Effect<Option.Option<SlotClaim>, StoreError>
    /** The latest slot ever claimed for a job type (for catch-up after downtime). */
    readonly lastSlot: (jobType: JobType) => Effect.Effect<Option.Option<number>, StoreError>
    /**
     * Pauses `pause.jobType` cluster-wide, replacing the pause it has, if any, which it returns (read
     * just before the write: it tells an operator "no change", it decides nothing). Kept until
     * resumed; a pause past its `until` is over without a write (Pause.inForce).
     */
    readonly pause: (pause: Pause) => Effect.Effect<Option.Option<Pause>, StoreError>
    /** Ends the job type's pause; returns the pause it ended (none: it was not paused). */
    readonly resume: (jobType: JobType) => Effect.Effect<Option.Option<Pause>, StoreError>
    /** The job type's pause as stored, also one past its `until`; read before every trigger. */
    readonly paused: (jobType: JobType) => Effect.Effect<Option.Option<Pause>, StoreError>
  }
>() {}
