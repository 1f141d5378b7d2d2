import { defineConfig } from "vitest/config"

// The Cassandra test files share one node and include timing tests (TTL expiry, a briefly frozen
// node): they run in their own project, one file at a time, after the other tests (a 2-core machine
// running the node, the timing tests of both projects and the workers at once makes both flaky).
// Only that project pays for finding a Cassandra (test/setup/cassandra.global.ts).
const cassandraTests = [
  "test/conformance/cassandra.test.ts",
  "test/stores/cassandra/CassandraStore.test.ts",
  "test/stores/cassandra/CassandraMigrator.test.ts",
  "test/stores/cassandra/CassandraStatuses.test.ts",
  "test/stores/cassandra/CassandraCluster.test.ts",
  "test/chaos/*.cassandra.test.ts",
]

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          sequence: { groupOrder: 0 },
          include: ["test/**/*.test.ts"],
          exclude: cassandraTests,
        },
      },
      {
        extends: true,
        test: {
          name: "cassandra",
          sequence: { groupOrder: 1 },
          include: cassandraTests,
          globalSetup: ["test/setup/cassandra.global.ts"],
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
})
