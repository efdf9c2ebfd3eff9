/**
 * The files a rendered configuration names (server.tls certificate and key, server.auth
 * secrets, CA files), served to the daemon's config loader the way the pod would: from a
 * per-run PKI for PEM files, fixed strings for secrets. Every path asked for is recorded,
 * so a test can check that the pod mounts something there.
 */
import type { Pki } from '../../src/lab/pki.js';

export interface PodFiles {
  readFile: (path: string) => Promise<string>;
  /** Every path the loader asked for, in order. */
  read: string[];
}

/** Serves certificates, keys and secrets by file name, as the mounted Secrets would hold them. */
export function podFiles(pki: Pki): PodFiles {
  const read: string[] = [];
  const readFile = async (path: string): Promise<string> => {
    read.push(path);
    const name = path.split('/').pop() ?? '';
    if (/\.(crt|pem)$/.test(name)) return /ca/.test(name) ? pki.rootPem : pki.chainPem;
    if (/\.key$/.test(name)) return pki.leafKeyPem;
    return `${name}-secret-value\n`;
  };
  return { readFile, read };
}

/** The paths of `files` that no volumeMount of the container covers. */
export function unmounted(files: string[], mounts: { mountPath: string }[]): string[] {
  return files.filter((file) => !mounts.some(({ mountPath }) => file === mountPath || file.startsWith(`${mountPath.replace(/\/$/, '')}/`)));
}
