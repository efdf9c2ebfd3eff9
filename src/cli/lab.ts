/**
 * `idp-canary lab [--listen HOST:PORT] [--out DIR] [--rotate-every DURATION]`: starts the
 * lab (src/lab/lab.ts) and prints its banner. It returns the running lab; main.ts keeps
 * the process alive and calls `close()` on SIGINT or SIGTERM.
 *
 * The lab itself (src/lab/, with node-forge for its certificates) is imported only once
 * the lab starts: main.ts imports this file for every command, and the daemon, `check`
 * and `validate-config` must not load what only the lab needs.
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '../config/duration.js';
import type { Lab } from '../lab/lab.js';

/** The synopsis of `lab`, for the top-level usage. */
export const LAB_SYNOPSIS = 'idp-canary lab [--listen 127.0.0.1:PORT] [--out DIR] [--rotate-every 5m] [--daemon-listen HOST:PORT] [--aws]';

/** The usage text of `lab`. */
export const LAB_USAGE = `${LAB_SYNOPSIS}

  Starts on loopback an HTTPS IdP for each failure of the seed article (healthy, slow,
  JWKS no-cache, Pragma no-cache, 429, issuer mismatch, unreachable, key rotation) and an
  STS double, writes the CA, a token and a ready daemon config to --out (default a temp
  directory, removed on exit), prints them, and runs until Ctrl-C. The STS double listens
  on the next port when --listen names one. --aws adds a loopback IAM/EKS/STS double whose
  IAM OIDC providers are the lab's IdPs, and a configuration with only inventory:.
`;

/** Where the command writes. */
export interface LabIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** How the user runs idp-canary, for the printed commands (src/cli/invocation.ts); default `idp-canary`. */
  command?: string;
}

/** The outcome: an exit code when the lab did not start (or --help), else the running lab. */
export type LabCommandResult = { exitCode: number; lab: null } | { exitCode: null; lab: Lab };

/** Parses `argv` (the arguments after `lab`) and starts the lab. */
export async function labCommand(argv: readonly string[], io: LabIo): Promise<LabCommandResult> {
  const usage = (message: string): LabCommandResult => {
    io.stderr(`idp-canary lab: ${message}\n\nUsage:\n  ${LAB_USAGE}`);
    return { exitCode: 2, lab: null };
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: {
        listen: { type: 'string' },
        out: { type: 'string' },
        'rotate-every': { type: 'string' },
        'daemon-listen': { type: 'string' },
        aws: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usage((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    io.stdout(`Usage:\n  ${LAB_USAGE}`);
    return { exitCode: 0, lab: null };
  }
  let port = 0;
  if (values.listen !== undefined) {
    const match = /^(127\.0\.0\.1|localhost|):(\d{1,5})$/.exec(values.listen);
    if (!match || Number(match[2]) > 65534) return usage(`--listen must be 127.0.0.1:PORT (the lab serves on loopback only), got "${values.listen}"`);
    port = Number(match[2]);
  }
  if (values.aws && port > 65533) return usage('--listen with --aws needs a port of at most 65533 (the AWS double listens on port + 2)');
  let rotateEveryMs: number | undefined;
  if (values['rotate-every'] !== undefined) {
    const ms = parseDuration(values['rotate-every']);
    if (ms === null || ms < 1000) return usage(`--rotate-every must be a duration of at least 1s, e.g. 5m, got "${values['rotate-every']}"`);
    rotateEveryMs = ms;
  }
  const daemonListen = values['daemon-listen'];
  if (daemonListen !== undefined && !/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/.test(daemonListen)) {
    return usage(`--daemon-listen must be HOST:PORT, got "${daemonListen}"`);
  }
  let lab: Lab;
  const { formatLabBanner, startLab } = await import('../lab/lab.js');
  try {
    lab = await startLab({
      port,
      ...(values.out === undefined ? {} : { outDir: values.out }),
      ...(rotateEveryMs === undefined ? {} : { rotateEveryMs }),
      ...(daemonListen === undefined ? {} : { daemonListen }),
    });
  } catch (error) {
    // A port in use or an unwritable --out: the user's to fix, not a crash.
    io.stderr(`idp-canary lab: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    return { exitCode: 1, lab: null };
  }
  let banner = formatLabBanner(lab, { ...(rotateEveryMs === undefined ? {} : { rotateEveryMs }), ...(io.command === undefined ? {} : { command: io.command }) });
  if (values.aws) {
    try {
      const { formatAwsLabBanner, startAwsLab } = await import('../lab/aws-lab.js');
      const aws = await startAwsLab(lab, {
        ...(port === 0 ? {} : { port: port + 2 }),
        ...(daemonListen === undefined ? {} : { daemonListen }),
      });
      banner += formatAwsLabBanner(aws);
      const closeLab = lab.close.bind(lab);
      lab = { ...lab, close: async () => { await aws.close(); await closeLab(); } };
    } catch (error) {
      await lab.close();
      io.stderr(`idp-canary lab: cannot start the AWS double: ${error instanceof Error ? error.message : String(error)}\n`);
      return { exitCode: 1, lab: null };
    }
  }
  io.stdout(banner);
  return { exitCode: null, lab };
}
