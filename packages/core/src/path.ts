import { InvalidPathError } from './errors.js';

/** How deep a path points: `/`, `/3`, `/3/0`, `/3/0/1`, `/3/0/11/2`. */
export type PathLevel = 'root' | 'object' | 'instance' | 'resource' | 'resourceInstance';

const LEVELS: readonly PathLevel[] = ['root', 'object', 'instance', 'resource', 'resourceInstance'];
export const MAX_ID = 65535;
const ID = /^(0|[1-9]\d{0,4})$/;

/**
 * An LwM2M path (Core TS 1.2 §7.1: Object ID / Object Instance ID / Resource ID / Resource
 * Instance ID, each 0..65535). Immutable; `toString()` gives the canonical form.
 */
export class LwM2mPath {
  static readonly ROOT = new LwM2mPath([]);

  /** The ids from the object id down, 0 to 4 of them. */
  readonly ids: readonly number[];

  private constructor(ids: readonly number[]) {
    this.ids = Object.freeze([...ids]);
    Object.freeze(this);
  }

  /**
   * Parses `/`, `/3`, `/3/0`, `/3/0/1` or `/3/0/11/2`. A path starts with `/`, has no empty
   * segment and no trailing slash (except `/` itself), and its ids are canonical decimal numbers
   * in 0..65535 (`/03` is refused: it would alias `/3`).
   */
  static parse(text: string): LwM2mPath {
    if (typeof text !== 'string') throw new InvalidPathError('path must be a string');
    if (text === '/') return LwM2mPath.ROOT;
    if (!text.startsWith('/')) throw new InvalidPathError(`path "${text}" must start with "/"`);
    if (text.endsWith('/')) {
      throw new InvalidPathError(`path "${text}" must not end with "/"`);
    }
    const segments = text.slice(1).split('/');
    if (segments.length > 4) {
      throw new InvalidPathError(`path "${text}" has more than 4 segments`);
    }
    return new LwM2mPath(segments.map((s) => parseId(s, text)));
  }

  /** Builds a path from ids: `LwM2mPath.of(3, 0, 1)`. */
  static of(...ids: number[]): LwM2mPath {
    if (ids.length > 4) throw new InvalidPathError(`a path has at most 4 ids, got ${ids.length}`);
    for (const id of ids) {
      if (!isValidId(id)) throw new InvalidPathError(`id ${id} is not an integer in 0..${MAX_ID}`);
    }
    return ids.length === 0 ? LwM2mPath.ROOT : new LwM2mPath(ids);
  }

  /** Parses a string or returns the given path unchanged. */
  static from(path: string | LwM2mPath): LwM2mPath {
    return typeof path === 'string' ? LwM2mPath.parse(path) : path;
  }

  get level(): PathLevel {
    return LEVELS[this.ids.length]!;
  }
  get objectId(): number | undefined {
    return this.ids[0];
  }
  get instanceId(): number | undefined {
    return this.ids[1];
  }
  get resourceId(): number | undefined {
    return this.ids[2];
  }
  get resourceInstanceId(): number | undefined {
    return this.ids[3];
  }
  isRoot(): boolean {
    return this.ids.length === 0;
  }
  isObject(): boolean {
    return this.ids.length === 1;
  }
  isInstance(): boolean {
    return this.ids.length === 2;
  }
  isResource(): boolean {
    return this.ids.length === 3;
  }
  isResourceInstance(): boolean {
    return this.ids.length === 4;
  }

  /** The path one level up; the root's parent is an error. */
  parent(): LwM2mPath {
    if (this.isRoot()) throw new InvalidPathError('the root path has no parent');
    return LwM2mPath.of(...this.ids.slice(0, -1));
  }

  /** The path one level down: `/3/0`.child(1) is `/3/0/1`. */
  child(id: number): LwM2mPath {
    return LwM2mPath.of(...this.ids, id);
  }

  /** True when `other` lies strictly below this path (`/3` is an ancestor of `/3/0/1`). */
  isAncestorOf(other: LwM2mPath): boolean {
    return other.ids.length > this.ids.length && startsWith(other.ids, this.ids);
  }

  /** True when `other` equals this path or lies below it. */
  contains(other: LwM2mPath): boolean {
    return other.ids.length >= this.ids.length && startsWith(other.ids, this.ids);
  }

  equals(other: LwM2mPath): boolean {
    return (
      other === this || (this.ids.length === other.ids.length && startsWith(other.ids, this.ids))
    );
  }

  /** Orders paths depth-first by id (`/3` < `/3/0` < `/3/0/1` < `/3/1` < `/4`): sort callback. */
  static compare(a: LwM2mPath, b: LwM2mPath): number {
    const n = Math.min(a.ids.length, b.ids.length);
    for (let i = 0; i < n; i++) {
      const d = a.ids[i]! - b.ids[i]!;
      if (d !== 0) return d;
    }
    return a.ids.length - b.ids.length;
  }

  compareTo(other: LwM2mPath): number {
    return LwM2mPath.compare(this, other);
  }

  toString(): string {
    return this.ids.length === 0 ? '/' : `/${this.ids.join('/')}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** `ids` begins with `prefix`. */
function startsWith(ids: readonly number[], prefix: readonly number[]): boolean {
  for (let i = 0; i < prefix.length; i++) if (ids[i] !== prefix[i]) return false;
  return true;
}

export function isValidId(id: unknown): id is number {
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= MAX_ID;
}

function parseId(segment: string, text: string): number {
  if (segment === '') throw new InvalidPathError(`path "${text}" has an empty segment`);
  if (!ID.test(segment)) {
    throw new InvalidPathError(`path "${text}": "${segment}" is not a canonical decimal id`);
  }
  const id = Number(segment);
  if (id > MAX_ID) throw new InvalidPathError(`path "${text}": id ${id} is above ${MAX_ID}`);
  return id;
}
