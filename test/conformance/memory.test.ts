import { TestClock } from "effect"
import * as MemoryStore from "../../src/stores/memory/MemoryStore.js"
import { storeContract } from "./storeContract.js"

storeContract({
  name: "memory",
  layer: MemoryStore.layer,
  advance: (d) => TestClock.adjust(d),
  live: false,
})
