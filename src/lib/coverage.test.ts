import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coverage, coverageRead, coverageSample, coverageShow } from './coverage.ts';

describe('coverage', () => {
  it("counts events and shows them in OVS's coverage/show layout", () => {
    const hit = coverage('cov_test_hit');
    coverage('cov_test_never');
    hit.inc();
    hit.inc(9);
    coverageSample();
    const text = coverageShow();
    const lines = text.split('\n');
    // Header and row widths as real ovsdb-server 3.1 prints them (%-24s %5.1f/sec %9.3f/sec %13.4f/sec).
    assert.match(
      lines[0],
      /^Event coverage, avg rate over last: 5 seconds, last minute, last hour, {2}hash=[0-9a-f]{8}:$/,
    );
    assert.ok(
      lines.includes(
        'cov_test_hit               2.0/sec     0.167/sec        0.0000/sec   total: 10',
      ),
    );
    assert.match(text, /\n\d+ events never hit\n$/);
    assert.doesNotMatch(text, /cov_test_never/);
    assert.equal(coverageRead('cov_test_hit'), 10);
    assert.equal(coverageRead('cov_test_nope'), null);
  });
});
