import { describe, expect, it } from 'vitest';
import { fittingScale } from '../../../src/state/services/scan_service';
import { urlFilesFromQuery } from '../../../src/state/services/url_files';

describe('fittingScale', () => {
  it('scales Sensorium 144x256 images to a 36x64 model by 0.25', () => {
    expect(fittingScale([1, 144, 256], [1, 36, 64])).toBe(0.25);
  });
  it('keeps images that already fit, and refuses to guess otherwise', () => {
    expect(fittingScale([1, 36, 64], [1, 36, 64])).toBe(1);
    expect(fittingScale([1, 144, 200], [1, 36, 64])).toBe(1); // aspect ratios differ
    expect(fittingScale([1, 18, 32], [1, 36, 64])).toBe(1); // would need upsampling
    expect(fittingScale(null, [1, 36, 64])).toBe(1);
    expect(fittingScale([1, 144, 256], null)).toBe(1);
  });
});

describe('urlFilesFromQuery', () => {
  it('reads model, config and scan links', () => {
    expect(urlFilesFromQuery('?model=a.pth&config=c.json&scan=s.zip&backend=wasm')).toEqual({
      model: 'a.pth',
      config: 'c.json',
      scan: 's.zip',
    });
    expect(urlFilesFromQuery('?scan=s.zip')).toEqual({ model: null, config: null, scan: 's.zip' });
  });
  it('is null when no file is named (a config alone loads nothing)', () => {
    expect(urlFilesFromQuery('?backend=webgl')).toBeNull();
    expect(urlFilesFromQuery('?config=c.json')).toBeNull();
  });
});
