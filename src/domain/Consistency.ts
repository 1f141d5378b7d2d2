/** Consistency levels for reads and for the commit phase of lightweight transactions. */
export const Consistencies = [
  "ONE",
  "TWO",
  "THREE",
  "QUORUM",
  "ALL",
  "LOCAL_QUORUM",
  "EACH_QUORUM",
  "LOCAL_ONE",
] as const
export type Consistency = (typeof Consistencies)[number]

/** Consistency of the Paxos phase of lightweight transactions (and of the reads that resolve them). */
export const SerialConsistencies = ["SERIAL", "LOCAL_SERIAL"] as const
export type SerialConsistency = (typeof SerialConsistencies)[number]
