import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { uiAssetsDir, uiContentType } from '../src/index.js';

describe('@twill/ui entry', () => {
  it('points at the built dashboard (dist/app) from the sources', () => {
    expect(uiAssetsDir()).toBe(join(import.meta.dirname, '..', 'dist', 'app'));
  });

  it('labels the files the build makes', () => {
    expect(uiContentType('index.html')).toBe('text/html; charset=utf-8');
    expect(uiContentType('assets/index-abc.JS')).toBe('text/javascript; charset=utf-8');
    expect(uiContentType('assets/x.css')).toBe('text/css; charset=utf-8');
    expect(uiContentType('x.bin')).toBe('application/octet-stream');
  });
});
