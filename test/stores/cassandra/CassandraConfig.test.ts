import { type AddressInfo, createServer } from "node:net"
import { ConfigProvider, Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { config, resolve } from "../../../src/stores/cassandra/CassandraConfig.js"
import { connect, connectError } from "../../../src/stores/cassandra/Driver.js"

// Not named Cassandra*.test.ts: it needs no node, so it runs with the unit tests.

const contactPointsOf = (contactPoints: ReadonlyArray<string>) =>
  Either.map(resolve({ contactPoints }), (c) => c.contactPoints)
const messageOf = (contactPoints: ReadonlyArray<string>) =>
  Either.match(resolve({ contactPoints }), { onLeft: (e) => e.message, onRight: () => "accepted" })

describe("Cassandra contact points (no server needed)", () => {
  it("host, host:port, IPv6 with and without brackets: every entry gets its actual port", () => {
    expect(
      contactPointsOf(["10.0.0.1", " db.example.com:9142 ", "[::1]:9043", "::1", "[fe80::1]", "h:65535"]),
    ).toEqual(
      Either.right([
        "10.0.0.1:9042",
        "db.example.com:9142",
        "[::1]:9043",
        "[::1]:9042",
        "[fe80::1]:9042",
        "h:65535",
      ]),
    )
    // A port configured for the driver is the default of entries without one.
    expect(
      Either.map(
        resolve({ contactPoints: ["a", "b:1"], clientOptions: { protocolOptions: { port: 9142 } } }),
        (c) => c.contactPoints,
      ),
    ).toEqual(Either.right(["a:9142", "b:1"]))
  })

  it.each([
    ["host:notaport", 'contact point "host:notaport"'],
    ["host:0", 'contact point "host:0"'],
    ["host:65536", 'contact point "host:65536"'],
    ["host:90.5", 'contact point "host:90.5"'],
    ["host:", 'contact point "host:"'],
    [":9042", 'contact point ":9042"'],
    ["a:b:c", 'contact point "a:b:c"'],
    ["[::1]:x", 'contact point "[::1]:x"'],
    ["[notip]:9042", 'contact point "[notip]:9042"'],
    ["host name", 'contact point "host name"'],
  ])("refuses %s, naming the entry and the fix", (entry, named) => {
    const message = messageOf(["10.0.0.1", entry])
    expect(message).toContain(named)
    expect(message).toContain("CASSANDRA_CONTACT_POINTS")
    expect(message).toContain("[::1]:9042")
  })

  it("CASSANDRA_CONTACT_POINTS with a bad entry is a config error naming it", async () => {
    const env = ConfigProvider.fromMap(new Map([["CASSANDRA_CONTACT_POINTS", "10.0.0.1,host:notaport"]]), {
      pathDelim: "_",
    })
    const error = await Effect.runPromise(Effect.flip(Effect.withConfigProvider(config, env)))
    expect(String(error)).toContain('contact point "host:notaport"')
  })

  it("connection errors name the actual ports", async () => {
    const resolved = Either.getOrThrow(
      resolve({ contactPoints: ["db.example.com"], clientOptions: { protocolOptions: { port: 9142 } } }),
    )
    expect(connectError(resolved, new Error("connect ECONNREFUSED")).message).toContain("db.example.com:9142")
    // A port that accepts TCP and never answers: the connect timeout's text names that port.
    const silent = createServer(() => undefined)
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r))
    const port = (silent.address() as AddressInfo).port
    try {
      const error = await Effect.runPromise(
        Effect.flip(
          Effect.scoped(
            connect(
              Either.getOrThrow(
                resolve({ contactPoints: [`127.0.0.1:${port}`], connectTimeout: "500 millis" }),
              ),
            ),
          ),
        ),
      )
      expect(error.message).toContain(`127.0.0.1:${port}`)
      expect(error.message).not.toContain("9042")
    } finally {
      silent.close()
    }
  })
})
