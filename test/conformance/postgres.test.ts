import { Effect } from "effect"
import * as PgStore from "../../src/stores/pg/PgStore.js"
import { describePostgres, freshSchema, url } from "../setup/postgres.js"
import { storeContract } from "./storeContract.js"

// The unchanged store contract on a real PostgreSQL, in a schema of its own: expiry is judged by the
// server's clock, so time is real.
describePostgres("postgres", () => {
  const schema = freshSchema()
  storeContract({
    name: "postgres",
    layer: PgStore.layer({ url, schema }),
    advance: (d) => Effect.sleep(d),
    live: true,
  })
})
