/**
 * Large answers in chunks, for `/api/v1/status` and the status page. One JSON.stringify
 * (or one template) of a document of thousands of IdPs holds the event loop for as long
 * as it takes, and every request queued behind it waits: `/-/healthy` too, whose timeout
 * makes the kubelet kill the pod. Here each IdP is rendered on its own and the loop is
 * given back between chunks of some 64 kB, so a health check waits for one chunk, not
 * for whole documents.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';

/** Text gathered before a chunk is handed on (and the event loop given back). */
const CHUNK_CHARS = 64 * 1024;

/** Joins `parts` into chunks of at least `chunkChars` (the last may be shorter), yielding to the event loop after each. */
export async function* inChunks(parts: Iterable<string>, chunkChars = CHUNK_CHARS): AsyncGenerator<string> {
  let pending = '';
  for (const part of parts) {
    pending += part;
    if (pending.length >= chunkChars) {
      yield pending;
      pending = '';
      await yieldToLoop();
    }
  }
  if (pending !== '') yield pending;
}

/** A document whose last member is the (long) list of IdPs. */
export interface StatusLike {
  readonly idps: readonly unknown[];
}

/** The parts of JSON.stringify(status), one IdP at a time; joined, they are exactly its bytes. */
function* statusJsonParts(status: StatusLike): Generator<string> {
  const { idps, ...head } = status;
  const headText = JSON.stringify(head);
  yield `${headText.slice(0, -1)}${headText === '{}' ? '' : ','}"idps":[`;
  for (let index = 0; index < idps.length; index += 1) yield (index === 0 ? '' : ',') + (JSON.stringify(idps[index]) ?? 'null');
  yield ']}';
}

/** The status document as JSON text in chunks. */
export function statusJsonChunks(status: StatusLike, chunkChars = CHUNK_CHARS): AsyncGenerator<string> {
  return inChunks(statusJsonParts(status), chunkChars);
}
