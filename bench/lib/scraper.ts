/**
 * Scrapes the daemon's /metrics over a real socket from a process of its own, as
 * Prometheus does: the daemon streams the text to a client that reads it, and neither
 * the client's CPU nor the bytes it holds count against the daemon.
 */
import { spawn } from 'node:child_process';

export interface Scrape {
  ms: number;
  /** Bytes on the wire (compressed when encoding is gzip); -1 when the scrape failed. */
  bytes: number;
  encoding?: string;
}

/**
 * The scraper process: GET `url` every `everyMs` with \`Accept-Encoding: gzip\`, as
 * Prometheus asks, read the body as it comes (compressed bytes, not decoded: the daemon's
 * cost is what is timed) and drop it; report on SIGTERM.
 */
const SCRAPER = `
const { request } = require('node:http');
const [url, everyMs] = process.argv.slice(1);
const scrapes = [];
setInterval(() => {
  const start = performance.now();
  const req = request(url, { headers: { 'accept-encoding': 'gzip' }, agent: false }, (res) => {
    let bytes = 0;
    res.on('data', (chunk) => (bytes += chunk.length));
    res.on('end', () => scrapes.push({ ms: performance.now() - start, bytes, encoding: res.headers['content-encoding'] ?? 'identity' }));
    res.on('error', () => scrapes.push({ ms: performance.now() - start, bytes: -1 }));
  });
  req.on('error', () => scrapes.push({ ms: performance.now() - start, bytes: -1 }));
  req.end();
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
