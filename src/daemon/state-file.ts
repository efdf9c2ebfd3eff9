/**
 * The state file (`state.file`, docs/configuration.md): what must survive a restart so that a
 * restart neither re-pages a firing alert as new (alert states with their startsAt) nor
 * misses a key rotation that happened while the daemon was down (the last key set per
 * IdP, compared on the first run), plus the last served thumbprints and the recent chain
 * latencies the regression rule needs.
 *
 * Written atomically: a temporary file in the same directory, fsync, rename over the
 * target, fsync of the directory; a reader sees the old file or the new one, never part
 * of one. A missing or corrupt file is logged and the daemon starts empty; a failed
 * write (full disk, read-only directory) is logged and the daemon keeps running.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AlertingPersistence, AlertingSnapshot } from '../alerts/alerting.js';
import { alertInstanceSchema } from '../alerts/engine.js';
import { idpMemorySchema } from '../targets/memory.js';

/** The file format's version; a file of another version is ignored (logged). */
export const STATE_VERSION = 1;

const stateSchema = z.object({
  version: z.literal(STATE_VERSION),
  /** Wall-clock ms of the write. */
  savedAt: z.number(),
  alerts: z.array(alertInstanceSchema),
  idps: z.record(z.string(), idpMemorySchema),
});

/** The content of the state file. */
export type PersistedState = z.infer<typeof stateSchema>;
/** One IdP's remembered facts in the state file. */
export type PersistedIdp = PersistedState['idps'][string];

/** The file operations the state file uses (injected in tests; default node:fs/promises). */
export interface StateFs {
  readFile(path: string): Promise<string>;
  open(path: string, flags: string, mode?: number): Promise<{
    writeFile(data: string): Promise<void>;
    sync(): Promise<void>;
    close(): Promise<void>;
  }>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

const nodeFs: StateFs = {
  readFile: (path) => fsp.readFile(path, 'utf8'),
  open: (path, flags, mode) => fsp.open(path, flags, mode),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
};

/** Where the state file lives, and what logs and touches it. */
export interface StateFileOptions {
  path: string;
  logger: Logger;
  fs?: StateFs;
}

/** An empty state (first start, or the file was unusable). */
export function emptyState(now: number): PersistedState {
  return { version: STATE_VERSION, savedAt: now, alerts: [], idps: {} };
}

/** Checks and returns a parsed state, or a one-line reason it is unusable. */
export function parseState(text: string): { ok: true; state: PersistedState } | { ok: false; problem: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, problem: `unexpected content at ${issue?.path.join('.') || '(top level)'}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, state: parsed.data };
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}

/** Creates the reader and writer of one state file. */
export function createStateFile(options: StateFileOptions) {
  const { path, logger } = options;
  const fs = options.fs ?? nodeFs;
  const dir = dirname(path);

  async function syncDirectory(): Promise<void> {
    // Makes the rename durable. Not every platform lets a directory be opened: best effort.
    try {
      const handle = await fs.open(dir, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch {
      /* durability of the rename is best effort */
    }
  }

  return {
    path,
    /** Reads the state; a missing, unreadable or corrupt file yields null (logged), never a throw. */
    async read(): Promise<PersistedState | null> {
      let text: string;
      try {
        text = await fs.readFile(path);
      } catch (error) {
        const code = errorCode(error);
        if (code === 'ENOENT') logger.info({ path }, 'no state file yet; starting with empty state');
        else logger.warn({ path, error: code }, 'cannot read the state file; starting with empty state');
        return null;
      }
      const parsed = parseState(text);
      if (!parsed.ok) {
        logger.warn({ path, problem: parsed.problem }, 'state file is corrupt or of another version; starting with empty state');
        return null;
      }
      logger.info({ path, alerts: parsed.state.alerts.length, idps: Object.keys(parsed.state.idps).length }, 'state restored');
      return parsed.state;
    },
    /** Writes the state atomically; false (logged) when it could not, never a throw. */
    async write(state: PersistedState): Promise<boolean> {
      const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      let created = false;
      try {
        const handle = await fs.open(temp, 'wx', 0o600);
        created = true;
        try {
          await handle.writeFile(`${JSON.stringify(state)}\n`);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await fs.rename(temp, path);
        created = false;
        await syncDirectory();
        return true;
      } catch (error) {
        logger.error({ path, error: errorCode(error) }, 'cannot write the state file; keeping state in memory');
        if (created) await fs.unlink(temp).catch(() => undefined);
        return false;
      }
    },
  };
}

/** A state file, as createStateFile returns it. */
export type StateFile = ReturnType<typeof createStateFile>;

/**
 * Serialises writes of a state that changes often: at most one write in flight, and
 * any number of requests made meanwhile collapse into one more write of the latest
 * state (taken when that write starts).
 */
export function createStateSaver(file: Pick<StateFile, 'write'>, current: () => PersistedState) {
  let requested = 0;
  let completed = 0;
  let running: Promise<void> | null = null;

  async function loop(): Promise<void> {
    while (completed < requested) {
      const target = requested;
      try {
        await file.write(current());
      } catch {
        /* write() logs and never throws; a throwing double must not stop the saver */
      }
      completed = target;
    }
    // No await between the last check and this line: a request made before it is seen by
    // the loop, one made after it starts a new loop.
    running = null;
  }

  function ensureRunning(): Promise<void> {
    running ??= loop();
    return running;
  }

  return {
    /** Asks for a write of the current state soon. */
    request(): void {
      requested += 1;
      void ensureRunning();
    },
    /** Writes the current state (taken after this call) and resolves when it is on disk. */
    async flush(): Promise<void> {
      requested += 1;
      await ensureRunning();
    },
  };
}

/**
 * The state file as alerting's persistence: snapshots go in with the file's version and
 * the time of the write, and come back out of a checked file.
 */
export function statePersistence(file: Pick<StateFile, 'read' | 'write'>, now: () => number): AlertingPersistence {
  let saver: ReturnType<typeof createStateSaver> | null = null;
  let current: () => AlertingSnapshot = () => ({ alerts: [], idps: {} });
  const saverFor = (snapshot: () => AlertingSnapshot) => {
    current = snapshot;
    saver ??= createStateSaver(file, () => ({ version: STATE_VERSION, savedAt: now(), ...current() }));
    return saver;
  };
  return {
    read: () => file.read(),
    requestSave: (snapshot) => saverFor(snapshot).request(),
    flush: (snapshot) => saverFor(snapshot).flush(),
  };
}
