/**
 * Structural equality of action lists, as OVS compares their encodings: flow monitors use it to
 * tell an actions change from a no-op modify, learn to tell a changed learned flow from a
 * refresh.
 */
import type { Ofpact } from './ofpact.ts';

export function ofpactsEqual(a: readonly Ofpact[], b: readonly Ofpact[]): boolean {
  return a === b || valuesEqual(a, b);
}

function valuesEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b)) return false;
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of ka) if (!valuesEqual(ra[k], rb[k])) return false;
  return true;
}
