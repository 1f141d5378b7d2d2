import { Scheduler } from "effect"

/**
 * The Effect scheduler the library's cron and watch fibers run on, and with them the jobs they start.
 *
 * Effect's default scheduler resumes each fiber in microtasks, up to 2,048 hops per fiber before that
 * fiber yields to the event loop. Thousands of fibers woken at once (5,000 cron job types firing in
 * the same second) keep the microtask queue busy for seconds, and no timer fires meanwhile: not a
 * lease renewal, not a lease's local deadline. Measured by bench/defaultsLoad.ts (5,000 types every
 * 10 s, memory store): the event loop stalled 8.8 s and renewals came 2× late.
 *
 * This one keeps one queue for all its fibers and runs it in slices: a slice starts in a microtask
 * (so a few resumptions cost what they cost before, and TestClock sees the same order) and runs
 * queued tasks until the queue is empty or `sliceMs` have passed; the rest waits for a
 * setImmediate, after the timers and I/O that came due meanwhile.
 */
export class FairScheduler implements Scheduler.Scheduler {
  private tasks: Array<Scheduler.Task> = []
  private running = false

  constructor(readonly sliceMs: number) {}

  shouldYield(fiber: Parameters<Scheduler.Scheduler["shouldYield"]>[0]): number | false {
    return Scheduler.defaultShouldYield(fiber)
  }

  scheduleTask(task: Scheduler.Task): void {
    this.tasks.push(task)
    if (this.running) return
    this.running = true
    queueMicrotask(this.slice)
  }

  private readonly slice = (): void => {
    const end = performance.now() + this.sliceMs
    let done = 0
    try {
      // Tasks queued by the ones running join this slice, as microtasks would.
      while (done < this.tasks.length) {
        const task = this.tasks[done++]!
        task()
        if (done < this.tasks.length && performance.now() > end) {
          this.tasks = this.tasks.slice(done)
          setImmediate(this.slice)
          return
        }
      }
      this.tasks = []
      this.running = false
    } catch (e) {
      // A task never throws in Effect; if one did, the others must still run.
      this.tasks = this.tasks.slice(done)
      if (this.tasks.length > 0) setImmediate(this.slice)
      else this.running = false
      throw e
    }
  }
}

/** 50 ms slices: a lease's timers fire at most about that late however many fibers are busy. */
export const fair: FairScheduler = new FairScheduler(50)
