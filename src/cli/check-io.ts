/**
 * What `check` and `check --from-iam` share: where they write, what they take from the
 * outside world, and the synopsis of the second (check-from-iam.ts is loaded only when
 * used: it brings the AWS SDK).
 */
import type { StsProbeDeps } from '../probes/sts-probe.js';
import type { HttpFetch } from '../http/types.js';

/** The synopsis of `check --from-iam` (check-from-iam.ts, loaded only when used: it brings the AWS SDK). */
export const CHECK_FROM_IAM_SYNOPSIS = 'idp-canary check --from-iam [--inventory-role ARN]... [--budget 5s] [--timeout 10s] [--ca-file FILE] [--json]';

/** Where the command writes, and what it knows of its environment (main.ts passes process's). */
export interface CheckIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stdout is a terminal (colour). */
  isTTY: boolean;
  env: Readonly<Record<string, string | undefined>>;
}

/** What the command needs from the outside world; tests replace parts. */
export interface CheckDeps {
  http?: HttpFetch;
  /** Wall clock, ms since the epoch. */
  now?: () => number;
  readFile?: (path: string) => Promise<string>;
  /** Waits between STS attempts (tests pass a no-op). */
  sleep?: StsProbeDeps['sleep'];
  random?: () => number;
}

