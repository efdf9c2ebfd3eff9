/**
 * Request/response over a forked child's IPC channel. The benchmark runs the fixture
 * IdPs and each daemon under test in processes of their own, so that neither disturbs
 * the other's event loop, CPU accounting or RSS.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Request {
  id: number;
  type: string;
  payload: unknown;
}

interface Reply {
  id: number;
  ok: boolean;
  payload?: unknown;
  error?: string;
}

export interface ChildHandle {
  readonly pid: number;
  readonly process: ChildProcess;
  /** Sends a request and resolves with the child's reply (rejects with its error). */
  call<T>(type: string, payload?: unknown): Promise<T>;
  /** Disconnects and waits for the child to exit (kills it after `graceMs`). */
  close(graceMs?: number): Promise<void>;
}

/** The repository root (bench/lib/../..). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Forks `bench/<script>` under tsx, or a compiled `.js` given by its absolute path under
 * plain node, with an advanced-serialisation IPC channel.
 */
export function startChild(script: string, env: NodeJS.ProcessEnv = process.env, nodeOptions: string[] = []): Promise<ChildHandle> {
  const compiled = isAbsolute(script);
  const child = fork(compiled ? script : fileURLToPath(new URL(`../${script}`, import.meta.url)), [], {
    cwd: REPO_ROOT,
    execArgv: compiled ? nodeOptions : [...nodeOptions, '--import', 'tsx'],
    serialization: 'advanced',
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let next = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failAll = (why: string) => {
    for (const { reject } of pending.values()) reject(new Error(why));
    pending.clear();
  };
  child.on('message', (message: Reply) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message.payload);
    else waiter.reject(new Error(`${script}: ${message.error ?? 'failed'}`));
  });
  child.once('exit', (code, signal) => failAll(`${script} exited (${signal ?? code})`));

  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('spawn', () =>
      resolve({
        pid: child.pid ?? 0,
        process: child,
        call<T>(type: string, payload?: unknown): Promise<T> {
          const id = next++;
          return new Promise<T>((done, fail) => {
            pending.set(id, { resolve: done as (value: unknown) => void, reject: fail });
            child.send({ id, type, payload } satisfies Request);
          });
        },
        async close(graceMs = 10_000): Promise<void> {
          if (child.exitCode !== null || child.signalCode !== null) return;
          if (child.connected) child.disconnect();
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        },
      }),
    );
  });
}

/** In a child: answers requests with `handlers[type](payload)`; exits when the parent goes away. */
export function serve(handlers: Record<string, (payload: never) => Promise<unknown>>): void {
  if (!process.send) throw new Error('not started with an IPC channel');
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: Request) => {
    const handler = handlers[message.type];
    const reply = (body: Omit<Reply, 'id'>) => {
      if (process.connected) process.send!({ id: message.id, ...body } satisfies Reply);
    };
    if (!handler) {
      reply({ ok: false, error: `unknown request ${message.type}` });
      return;
    }
    handler(message.payload as never).then(
      (payload) => reply({ ok: true, payload }),
      (error: unknown) => reply({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
}
