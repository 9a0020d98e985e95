/**
 * Registration ids (the `<id>` of `/rd/<id>`): short, random and cheap to make. Its own file
 * because the pool of random bytes is module state.
 */
import { randomFillSync } from 'node:crypto';

/** Random bytes for registration ids: one 4 KB draw serves 682 registrations. */
const idPool = Buffer.allocUnsafe(4092);
let idPoolAt = idPool.length;

/** 6 random bytes in base64url (8 characters). */
export function registrationId(): string {
  if (idPoolAt + 6 > idPool.length) {
    randomFillSync(idPool);
    idPoolAt = 0;
  }
  const id = idPool.toString('base64url', idPoolAt, idPoolAt + 6);
  idPoolAt += 6;
  return id;
}
