/**
 * Runs jobs on node-cron schedules. Jobs that share a cron expression share one node-cron
 * task (thousands of IdPs on "every 30 s" cost one timer, not thousands); a job's run
 * starts at the tick plus its stable offset plus jitter. Runs never overlap: a run that
 * falls due while the previous one is still going is skipped and reported as an overrun.
 */
import cron, { type ScheduledTask } from 'node-cron';
import { periodOfTask } from './period.js';
import { maxJitterMs, offsetMs, stableFraction } from './spread.js';

export interface Job {
  name: string;
  /** node-cron expression. */
  schedule: string;
  run: (signal: AbortSignal) => Promise<void>;
}

export interface SchedulerDeps {
  /** Called when a tick is skipped because the previous run had not finished. */
  onOverrun: (name: string) => void;
  /** [0, 1) random source for jitter. */
  random?: () => number;
  /**
   * A job added runs once within this many ms (at a stable spread over the window), then
   * keeps its schedule: a new user sees results at once, not after a period. 0: off.
   */
  firstRoundMs?: number;
}

interface Entry {
  job: Job;
  group: Group;
  timer: NodeJS.Timeout | null;
  /** Wall-clock ms the pending timer fires at. */
  dueAt: number | null;
  /** The first-round run is pending or running: a tick meanwhile is no overrun. */
  firstRound: boolean;
  running: Promise<void> | null;
  controller: AbortController | null;
}

/** The jobs of one cron expression, and its node-cron task. */
interface Group {
  task: ScheduledTask;
  periodMs: number;
  entries: Set<Entry>;
}

export function createScheduler(deps: SchedulerDeps) {
  const random = deps.random ?? Math.random;
  const entries = new Map<string, Entry>();
  const groups = new Map<string, Group>();
  let stopped = false;

  function groupFor(schedule: string): Group {
    let group = groups.get(schedule);
    if (!group) {
      const members = new Set<Entry>();
      const task = cron.createTask(schedule, () => {
        for (const entry of members) tick(entry);
      }, { name: `idp-canary:${schedule}` });
      group = { task, periodMs: periodOfTask(task), entries: members };
      groups.set(schedule, group);
      void task.start();
    }
    return group;
  }

  function start(entry: Entry): void {
    entry.timer = null;
    entry.dueAt = null;
    if (stopped) return;
    // The run is due; the previous one (started a period ago) may still be going.
    if (entry.running !== null) {
      if (!entry.firstRound) deps.onOverrun(entry.job.name);
      return;
    }
    const controller = new AbortController();
    entry.controller = controller;
    entry.running = entry.job
      .run(controller.signal)
      .catch(() => undefined)
      .finally(() => {
        entry.running = null;
        entry.controller = null;
        entry.firstRound = false;
      });
  }

  function tick(entry: Entry): void {
    if (stopped) return;
    // Still waiting for the previous tick's start: that start has not happened yet.
    if (entry.timer !== null) {
      if (!entry.firstRound) deps.onOverrun(entry.job.name);
      return;
    }
    const { periodMs } = entry.group;
    at(entry, offsetMs(entry.job.name, periodMs) + Math.floor(random() * maxJitterMs(periodMs)));
  }

  function at(entry: Entry, delayMs: number): void {
    entry.dueAt = Date.now() + delayMs;
    entry.timer = setTimeout(() => start(entry), delayMs);
  }

  return {
    /** Schedules a job; a job of the same name is replaced. */
    add(job: Job): void {
      this.remove(job.name);
      const firstRoundMs = deps.firstRoundMs ?? 0;
      const entry: Entry = { job, group: groupFor(job.schedule), timer: null, dueAt: null, firstRound: firstRoundMs > 0, running: null, controller: null };
      entry.group.entries.add(entry);
      entries.set(job.name, entry);
      if (entry.firstRound) at(entry, Math.floor(stableFraction(`first:${job.name}`) * firstRoundMs));
    },
    /** Unschedules a job and aborts its run, if any. */
    remove(name: string): void {
      const entry = entries.get(name);
      if (!entry) return;
      entries.delete(name);
      entry.group.entries.delete(entry);
      if (entry.group.entries.size === 0) {
        void entry.group.task.destroy();
        groups.delete(entry.job.schedule);
      }
      if (entry.timer) clearTimeout(entry.timer);
      entry.controller?.abort();
    },
    /** Starts a run now unless one is pending or in flight; resolves when it ends. */
    async runNow(name: string): Promise<void> {
      const entry = entries.get(name);
      if (!entry || entry.running !== null) return entry?.running ?? undefined;
      if (entry.timer) clearTimeout(entry.timer);
      start(entry);
      await entry.running;
    },
    /** Wall-clock ms of a job's next run (without its jitter); null when unknown. */
    nextRunAt(name: string): number | null {
      const entry = entries.get(name);
      if (!entry) return null;
      if (entry.dueAt !== null) return entry.dueAt;
      const tick = entry.group.task.getNextRuns(1)[0];
      return tick === undefined ? null : tick.getTime() + offsetMs(name, entry.group.periodMs);
    },
    names(): string[] {
      return [...entries.keys()];
    },
    /**
     * Stops scheduling. In-flight runs get `graceMs` to finish, then are aborted; resolves
     * when every run has ended.
     */
    async stop(graceMs: number): Promise<void> {
      stopped = true;
      const running: Promise<void>[] = [];
      for (const group of groups.values()) void group.task.destroy();
      groups.clear();
      for (const entry of entries.values()) {
        if (entry.timer) clearTimeout(entry.timer);
        if (entry.running) running.push(entry.running);
      }
      const all = Promise.all(running);
      let graceTimer: NodeJS.Timeout | undefined;
      const grace = new Promise<'late'>((resolve) => {
        graceTimer = setTimeout(() => resolve('late'), graceMs);
      });
      if ((await Promise.race([all, grace])) === 'late') {
        for (const entry of entries.values()) entry.controller?.abort();
        await all;
      }
      clearTimeout(graceTimer);
      entries.clear();
    },
  };
}

export type Scheduler = ReturnType<typeof createScheduler>;
