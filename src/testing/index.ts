/**
 * effect-ha-jobs/testing: test your jobs as a cluster on the in-memory store under Effect's
 * TestClock — several instances (with skewed clocks if you like), a store that fails, hangs or
 * dies on chosen calls, and a way to await an execution's end by moving test time.
 * May import: `domain`, `ports`, `core`, `jobs`, `stores`, `HaJobs`. (docs/architecture.md)
 */
export * as FaultyStore from "./FaultyStore.js"
export * as Stores from "./Stores.js"
export * as TestCluster from "./TestCluster.js"
