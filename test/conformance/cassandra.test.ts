import { Effect } from "effect"
import * as CassandraStore from "../../src/stores/cassandra/CassandraStore.js"
import { describeCassandra, options } from "../setup/cassandra.js"
import { storeContract } from "./storeContract.js"

// The unchanged store contract on a real Cassandra: leases expire by server-side TTL, so time is real.
describeCassandra("cassandra", () =>
  storeContract({
    name: "cassandra",
    layer: CassandraStore.layer(options()),
    advance: (d) => Effect.sleep(d),
    live: true,
    timeout: 30_000,
  }),
)
