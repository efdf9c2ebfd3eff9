/**
 * Scrapes the daemon's /metrics over a real socket from a process of its own, as
 * Prometheus does: the daemon streams the text to a client that reads it, and neither
 * the client's CPU nor the bytes it holds count against the daemon.
 */
import { spawn } from 'node:child_process';

export interface Scrape {
  ms: number;
  bytes: number;
}

/** The scraper process: GET `url` every `everyMs`, read and drop the body; report on SIGTERM. */
const SCRAPER = `
const [url, everyMs] = process.argv.slice(1);
const scrapes = [];
setInterval(async () => {
  const start = performance.now();
  try {
    const response = await fetch(url);
    let bytes = 0;
    for await (const chunk of response.body) bytes += chunk.length;
    scrapes.push({ ms: performance.now() - start, bytes });
  } catch (error) {
    scrapes.push({ ms: performance.now() - start, bytes: -1 });
  }
}, Number(everyMs));
process.on('SIGTERM', () => { process.stdout.write(JSON.stringify(scrapes)); process.exit(0); });
`;

export function startScraper(url: string, everyMs: number): { stop(): Promise<Scrape[]> } {
  const child = spawn(process.execPath, ['-e', SCRAPER, url, String(everyMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
      return JSON.parse(output || '[]') as Scrape[];
    },
  };
}
