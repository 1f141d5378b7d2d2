/**
 * Which product the library follows where the two differ: its own defaults and API, or ha-jobs'
 * ("ha-jobs": lease 60 s, supervisor every minute with DEAD after 5 minutes, and the API as ha-jobs
 * answered). One mode for the whole instance: `HaJobs.layer(jobs, { compat })` takes the defaults,
 * `HaJobsHttp.layer({ compat })` the API, HA_JOBS_COMPAT both. README "Migrating from ha-jobs".
 */
export type CompatMode = "none" | "ha-jobs"
