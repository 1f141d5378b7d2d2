import { TestClock } from "effect"
import { MemoryLayer } from "../../src/layers/MemoryLayer.js"
import { storeContract } from "./storeContract.js"

storeContract({
  name: "memory",
  layer: MemoryLayer,
  advance: (d) => TestClock.adjust(d),
  live: false,
})
