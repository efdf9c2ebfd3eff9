/**
 * Finds member names that appear twice in one JSON object. JSON.parse keeps the last
 * one silently; other parsers keep the first or fail (RFC 8259 §4 leaves it open). A
 * document whose `issuer` or `jwks_uri` is given twice may mean one thing to this
 * monitor and another to STS. Pure, linear in the text, and only run on text JSON.parse
 * accepted.
 */

/** At most this many duplicates are reported. */
const MAX_REPORTED = 20;

interface Frame {
  readonly kind: 'object' | 'array';
  readonly path: string;
  /** Objects: names seen so far. */
  readonly names: Set<string>;
  /** Objects: the next string is a member name. Arrays: unused. */
  expectName: boolean;
  /** The member name (objects) or index (arrays) of the value being read. */
  current: string;
  index: number;
}

/**
 * The paths of repeated members, e.g. `issuer` or `keys[2].kid` (each repeat once, in
 * order, at most 20). Valid JSON text only: for anything else the result is meaningless.
 */
export function duplicateMembers(text: string): string[] {
  const found: string[] = [];
  const reported = new Set<string>();
  const stack: Frame[] = [];
  const childPath = (frame: Frame | undefined): string => {
    if (frame === undefined) return '';
    if (frame.kind === 'array') return `${frame.path}[${frame.index}]`;
    return frame.path === '' ? frame.current : `${frame.path}.${frame.current}`;
  };
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    const top = stack[stack.length - 1];
    if (char === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (top?.kind === 'object' && top.expectName) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        const path = childPath({ ...top, current: name });
        if (top.names.has(name)) {
          if (!reported.has(path) && found.length < MAX_REPORTED) found.push(path);
          reported.add(path);
        }
        top.names.add(name);
        top.current = name;
        top.expectName = false;
      }
      i = end;
    } else if (char === '{' || char === '[') {
      stack.push({ kind: char === '{' ? 'object' : 'array', path: childPath(top), names: new Set(), expectName: char === '{', current: '', index: 0 });
    } else if (char === '}' || char === ']') {
      stack.pop();
    } else if (char === ',' && top !== undefined) {
      if (top.kind === 'object') top.expectName = true;
      else top.index += 1;
    }
  }
  return found;
}
