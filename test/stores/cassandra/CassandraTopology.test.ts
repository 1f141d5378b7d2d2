import { describe, expect, it } from "vitest"
import {
  localReplicationFactor,
  type Topology,
  warnings,
} from "../../../src/stores/cassandra/CassandraTopology.js"

const nts = (rf: number) => ({
  class: "org.apache.cassandra.locator.NetworkTopologyStrategy",
  dc1: String(rf),
})
const nodes = (n: number, up = n) =>
  Array.from({ length: n }, (_, i) => ({
    address: `10.77.0.${11 + i}:9042`,
    datacenter: "dc1",
    isUp: i < up,
  }))
const topology = (over: Partial<Topology>): Topology => ({
  keyspace: "ha_jobs",
  localDataCenter: "dc1",
  replication: nts(3),
  hosts: nodes(3),
  contactPoints: ["10.77.0.11", "10.77.0.12", "10.77.0.13"],
  ...over,
})

describe("Cassandra topology warnings at start (no server needed)", () => {
  it("a healthy three-node data center with three replicas: nothing to say", () => {
    expect(warnings(topology({}))).toEqual([])
  })

  it("replication factor 1 on several nodes: one replica loss loses leases; says how to fix", () => {
    const [warning, ...rest] = warnings(topology({ replication: nts(1) }))
    expect(rest).toEqual([])
    expect(warning).toContain("keeps one replica on a 3-node data center")
    expect(warning).toContain("'dc1': 3")
  })

  it("replication factor 1 on one node (a laptop, the tests) is fine", () => {
    const single = topology({
      replication: { class: "org.apache.cassandra.locator.SimpleStrategy", replication_factor: "1" },
      hosts: nodes(1),
      contactPoints: ["127.0.0.1"],
    })
    expect(
      warnings({ ...single, hosts: [{ address: "127.0.0.1:9042", datacenter: "dc1", isUp: true }] }),
    ).toEqual([])
  })

  it("more replicas than nodes in the data center", () => {
    const [warning] = warnings(topology({ replication: nts(5) }))
    expect(warning).toContain("asks for 5 replicas")
    expect(warning).toContain("has 3 node(s)")
  })

  it("a contact point that is down, or not a node of the cluster", () => {
    const found = warnings(
      topology({ hosts: nodes(3, 2), contactPoints: ["10.77.0.13", "10.77.0.99:9042", "db.example"] }),
    )
    expect(found).toHaveLength(2)
    expect(found[0]).toContain("contact point 10.77.0.13 is down")
    expect(found[1]).toContain("contact point 10.77.0.99:9042 is not a node of this cluster")
    expect(found[1]).toContain("CASSANDRA_CONTACT_POINTS")
  })

  it("the local replication factor reads both strategies; a data center without replicas is 0", () => {
    expect(localReplicationFactor(topology({}))).toBe(3)
    expect(localReplicationFactor(topology({ localDataCenter: "dc2" }))).toBe(0)
    expect(
      localReplicationFactor(
        topology({
          replication: { class: "org.apache.cassandra.locator.SimpleStrategy", replication_factor: "2" },
        }),
      ),
    ).toBe(2)
  })
})
