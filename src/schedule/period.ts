/**
 * The period of a node-cron schedule: the distance between its next two fire times. The
 * scheduler spreads runs over it and the staleness alert counts missed runs in it.
 */
import cron, { type ScheduledTask } from 'node-cron';

/** The interval between the next two fire times of a task; one minute if it has none. */
export function periodOfTask(task: ScheduledTask): number {
  const [first, second] = task.getNextRuns(2);
  return first && second ? second.getTime() - first.getTime() : 60_000;
}

const periods = new Map<string, number>();

/** The period of a cron expression, in ms (a task is made once per expression, never started). */
export function cronPeriodMs(schedule: string): number {
  let period = periods.get(schedule);
  if (period === undefined) {
    const task = cron.createTask(schedule, () => undefined);
    try {
      period = periodOfTask(task);
    } finally {
      void task.destroy();
    }
    periods.set(schedule, period);
  }
  return period;
}
