/**
 * One pg-boss worker process for bench/pgboss.ts: the singleton-cron job of the chaos worker on
 * pg-boss. pg-boss's own cron has minute precision (one send per 60 s), so every process sends at
 * each second boundary with `singletonKey` + `singletonSeconds: 1` (at most one job per second,
 * cluster-wide), into a queue with policy "singleton" (at most one active job) and
 * `expireInSeconds: 3` (the nearest to our 3 s lease; pg-boss 10 has no heartbeat). Each job prints
 * "start <id> <epoch ms>", works 300 ms, prints "end ...". Exits by itself after PGBOSS_MAX_SECONDS.
 *
 *   PGBOSS_URL=postgres://postgres@127.0.0.1:5432/test PGBOSS_SCHEMA=s npx tsx bench/pgboss-worker.ts
 */
import PgBoss from "pg-boss"

const url = process.env.PGBOSS_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const schema = process.env.PGBOSS_SCHEMA ?? "pgboss_bench"
const maxSeconds = Number(process.env.PGBOSS_MAX_SECONDS ?? "600")
export const queue = "singleton-cron"

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

const boss = new PgBoss({ connectionString: url, schema, maintenanceIntervalSeconds: 1, max: 4 })
boss.on("error", (e) => console.error(`pg-boss error: ${String(e)}`))
await boss.start()
await boss.work(queue, { pollingIntervalSeconds: 0.5, batchSize: 1 }, async ([job]) => {
  console.log(`start ${job!.id} ${Date.now()}`)
  await sleep(300)
  console.log(`end ${job!.id} ${Date.now()}`)
})
const tick = () =>
  setTimeout(
    async () => {
      try {
        await boss.send(queue, {}, { singletonKey: "tick", singletonSeconds: 1 })
      } catch (e) {
        console.error(`send: ${String(e)}`)
      }
      tick()
    },
    1000 - (Date.now() % 1000) + 5,
  )
tick()
setTimeout(() => process.exit(0), maxSeconds * 1000).unref()
console.log(`pg-boss worker pid ${process.pid} ready`)
