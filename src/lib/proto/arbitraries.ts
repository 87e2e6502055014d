/*
 * fast-check generators shared by the protocol codec property tests.
 */
import fc from 'fast-check';

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
export const mac = fc
  .uint8Array({ minLength: 6, maxLength: 6 })
  .map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':'));
export const bytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max });
