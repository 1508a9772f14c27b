import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReference } from '../../../gateway/configReference.js';

describe('config reference', () => {
  it('lists every setting with its default', () => {
    const ref = configReference();
    expect(ref).toContain('| `mqtt.maxPacketBytes` | integer | `65536` |');
    expect(ref).toContain('| `devices[].kind` |');
    expect(ref).toContain('| `storeId` | string | required |');
  });

  it('is what the README shows (regenerate with `node dist/storegw.js config-reference`)', () => {
    const readme = readFileSync('README.md', 'utf8');
    const start = readme.indexOf('<!-- config-reference:start -->\n');
    const end = readme.indexOf('<!-- config-reference:end -->');
    expect(start).toBeGreaterThan(0);
    expect(readme.slice(start + '<!-- config-reference:start -->\n'.length, end)).toBe(configReference());
  });
});
