/**
 * Real third-party binaries (Prometheus, promtool, Alertmanager, Chromium, …) that the
 * tests, the soak run and the bench drive: where each is, and which Debian package
 * provides it.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The binaries the suite knows, by short name. */
export const BINARIES = {
  prometheus: { names: ['prometheus'], debianPackage: 'prometheus' },
  promtool: { names: ['promtool'], debianPackage: 'prometheus' },
  alertmanager: { names: ['prometheus-alertmanager', 'alertmanager'], debianPackage: 'prometheus-alertmanager' },
  amtool: { names: ['amtool'], debianPackage: 'prometheus-alertmanager' },
  'blackbox-exporter': { names: ['prometheus-blackbox-exporter', 'blackbox_exporter'], debianPackage: 'prometheus-blackbox-exporter' },
  chromium: { names: ['chromium', 'chromium-browser'], debianPackage: 'chromium' },
} as const;

export type BinaryName = keyof typeof BINARIES;

/** True when running in CI (`CI=true`, as `.ci/run` sets it): absent binaries are failures there. */
export function inCi(): boolean {
  const value = (process.env.CI ?? '').toLowerCase();
  return value !== '' && value !== 'false' && value !== '0';
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Absolute path of a known binary, searched on PATH and then in /usr/bin and /usr/sbin;
 * null when absent. `IDP_CANARY_TEST_HIDE_BINARIES=promtool,prometheus` pretends the
 * named ones are absent, to try the skip and CI-failure paths.
 */
export function findBinary(name: BinaryName): string | null {
  const hidden = (process.env.IDP_CANARY_TEST_HIDE_BINARIES ?? '').split(',').map((entry) => entry.trim());
  if (hidden.includes(name)) return null;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/sbin'];
  for (const candidate of BINARIES[name].names) {
    for (const dir of dirs) {
      const path = join(dir, candidate);
      if (isExecutable(path)) return path;
    }
  }
  return null;
}

