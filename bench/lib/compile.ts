/**
 * Compiles the daemon process (bench/daemon-process.ts and the src/ files it imports)
 * to plain JavaScript, so that the daemon under test runs the way it runs in production
 * (`node dist/src/main.js`), without tsx's loader thread and compiled-source copies,
 * which add some 50–80 MB of RSS and a little CPU.
 */
import { spawn } from 'node:child_process';
import { copyFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './ipc.js';

/** Source files loaded dynamically (not followed by tsc from the entry point). */
const DYNAMIC = ['src/probes/probe-worker.ts'];

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Inside the repository (so that node_modules resolves) and git-ignored. */
export const BUILD_DIR = join(REPO_ROOT, '.tmp', 'bench-build');

/**
 * Compiles into `outDir`; resolves with the compiled daemon-process.js, or with an error
 * text when nothing usable was emitted. Type errors elsewhere in a work tree being edited
 * do not stop the emit.
 */
export async function compileDaemon(outDir: string): Promise<{ script: string } | { error: string }> {
  const entries = ['bench/daemon-process.ts'];
  for (const file of DYNAMIC) if (await exists(join(REPO_ROOT, file))) entries.push(file);
  const args = [
    join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    '--outDir', outDir,
    '--rootDir', REPO_ROOT,
    '--module', 'NodeNext',
    '--moduleResolution', 'NodeNext',
    '--target', 'ES2022',
    '--esModuleInterop',
    '--skipLibCheck',
    '--types', 'node',
    '--noCheck',
    ...entries.map((file) => join(REPO_ROOT, file)),
  ];
  const output = await new Promise<{ code: number | null; text: string }>((resolve) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.once('exit', (code) => resolve({ code, text }));
  });
  const script = join(outDir, 'bench', 'daemon-process.js');
  if (!(await exists(script))) return { error: `tsc exited ${output.code}: ${output.text.slice(0, 2000)}` };
  // src/version.ts reads the version from ../package.json.
  await copyFile(join(REPO_ROOT, 'package.json'), join(outDir, 'package.json'));
  return { script };
}
