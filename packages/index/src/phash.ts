// The near-duplicate prefilter (multi-index hashing, Norouzi et al. 2012). A 64-bit hash is four 16-bit chunks.
// If two hashes differ in at most d bits, the pigeonhole principle puts at most floor(d / 4) of them in one of
// the chunks. So the candidates are the rows whose chunk k (for some k) lies within r = floor(d / 4) bits of the
// query's chunk k: each chunk value within r bits is an equality probe on an ordinary btree index. For d <= 15
// (r <= 3) that is at most 4 x 697 probe values; with uniformly spread hashes each probe matches N / 65536 rows
// (~15 at a million), so a query touches ~40 thousand candidates at worst instead of every row, and the exact
// distance (bit_count of the xor) is computed on those alone.

/** The four 16-bit chunks of a 64-bit hash (signed bigint as Postgres stores it), high to low. */
export function hashChunks(hash: bigint): [number, number, number, number] {
  const u = BigInt.asUintN(64, hash);
  return [48n, 32n, 16n, 0n].map((shift) => Number((u >> shift) & 0xffffn)) as [
    number,
    number,
    number,
    number,
  ];
}

/** Every 16-bit value within `radius` bits of `value` (itself included). */
export function probesWithin(value: number, radius: number): number[] {
  const out = [value];
  const flip = (v: number, from: number, left: number): void => {
    for (let bit = from; bit < 16; bit++) {
      const next = v ^ (1 << bit);
      out.push(next);
      if (left > 1) flip(next, bit + 1, left - 1);
    }
  };
  if (radius > 0) flip(value, 0, radius);
  return out;
}
