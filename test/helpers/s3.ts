import { describe } from 'vitest';
import { radosgwMissing } from './radosgw.js';

export { s3ClientFor, startRadosgw, type Radosgw } from './radosgw.js';

/**
 * A describe() that needs radosgw: under CI=true it always runs (and fails if Ceph is
 * missing); elsewhere it skips, loudly, when it is.
 */
export function describeWithRadosgw(name: string, body: () => void): void {
  const why = radosgwMissing();
  if (why && process.env.CI !== 'true') {
    console.warn(`\n!!! SKIPPED "${name}": ${why} (apt-get install --no-install-recommends radosgw ceph-mon ceph-osd; CI never skips)\n`);
    describe.skip(name, body);
    return;
  }
  describe(name, body);
}
