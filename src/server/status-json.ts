/**
 * The status document as JSON in chunks, for `/api/v1/status`. One JSON.stringify of a
 * document of thousands of IdPs holds the event loop for as long as it takes, and every
 * request queued behind it waits: `/-/healthy` too, whose timeout makes the kubelet kill
 * the pod. Here each IdP is stringified on its own and the loop is given back between
 * chunks of some 64 kB, so a health check waits for one chunk, not for whole documents.
 * The bytes are exactly those of JSON.stringify(status).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';

/** Text gathered before a chunk is handed on (and the event loop given back). */
const CHUNK_CHARS = 64 * 1024;

/** A document whose last member is the (long) list of IdPs. */
export interface StatusLike {
  readonly idps: readonly unknown[];
}

export async function* statusJsonChunks(status: StatusLike, chunkChars = CHUNK_CHARS): AsyncGenerator<string> {
  const { idps, ...head } = status;
  const headText = JSON.stringify(head);
  let pending = `${headText.slice(0, -1)}${headText === '{}' ? '' : ','}"idps":[`;
  for (let index = 0; index < idps.length; index += 1) {
    pending += (index === 0 ? '' : ',') + (JSON.stringify(idps[index]) ?? 'null');
    if (pending.length >= chunkChars) {
      yield pending;
      pending = '';
      await yieldToLoop();
    }
  }
  yield `${pending}]}`;
}
