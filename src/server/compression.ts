/**
 * gzip for `/metrics` when the scraper asks for it (Prometheus always sends
 * `Accept-Encoding: gzip`). At thousands of IdPs the exposition is megabytes of very
 * repetitive text; compressed it is a fraction of that on the wire and in the scraper's
 * buffers. The body stays a stream: the exposition's chunks go through zlib as they are
 * made, and the compressed bytes leave as chunked transfer encoding.
 */
import { pipeline, type Readable } from 'node:stream';
import { constants, createGzip, type Gzip } from 'node:zlib';

/**
 * zlib's fastest level: on exposition text it compresses nearly as well as the default
 * level 6 for a fraction of the CPU, and the render of a scrape at 5,000 IdPs has a
 * bound (docs/performance.md).
 */
export const METRICS_GZIP_LEVEL = constants.Z_BEST_SPEED;

/**
 * Expositions larger than this (4 MB, some 1,400 IdPs with the default metrics) are sent
 * uncompressed: at 5,000 IdPs (14 MB) gzip took 345-390 ms against 147-246 ms for the plain
 * text, past the 250 ms a scrape may take (docs/performance.md). Shard to stay below it.
 */
export const GZIP_MAX_CHARS = 4_000_000;

/**
 * Whether an `Accept-Encoding` header accepts gzip (RFC 9110, section 12.5.3): `gzip`
 * (or `x-gzip`) with a weight above 0, or `*` above 0 when gzip is not named. No header,
 * or gzip at `q=0`, means the identity encoding.
 */
export function acceptsGzip(header: string | readonly string[] | undefined): boolean {
  if (header === undefined) return false;
  const text = typeof header === 'string' ? header : header.join(',');
  let gzip: number | null = null;
  let star: number | null = null;
  for (const item of text.split(',')) {
    const [coding = '', ...params] = item.split(';').map((part) => part.trim().toLowerCase());
    if (coding === '') continue;
    let weight = 1;
    for (const param of params) {
      const match = /^q\s*=\s*([0-9.]+)$/.exec(param);
      if (match) weight = Number(match[1]);
    }
    if (!Number.isFinite(weight)) weight = 0;
    if (coding === 'gzip' || coding === 'x-gzip') gzip = Math.max(gzip ?? 0, weight);
    else if (coding === '*') star = weight;
  }
  if (gzip !== null) return gzip > 0;
  return star !== null && star > 0;
}

/**
 * `source` gzip-compressed, as a stream. An error on either side (the scraper went away,
 * the exposition failed) destroys both, so the exposition's generator stops.
 */
export function gzipped(source: Readable): Gzip {
  const gzip = createGzip({ level: METRICS_GZIP_LEVEL });
  pipeline(source, gzip, () => undefined);
  return gzip;
}
