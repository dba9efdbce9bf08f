import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Verdict } from '@/lib/guard/types';
import { defaultSettings, type Settings } from '@/lib/settings/schema';
import type { EngineHost } from './host';
import {
  checkImage,
  type DecodedImage,
  type ImageCodec,
  ImageError,
  ImagePermissionError,
  imageSupport,
  isPrivateHost,
  MAX_IMAGE_SIDE,
  prepareImage,
  sniffImageType,
  toBase64,
} from './images';

/** PNG signature and IHDR: enough for the fake codec, which reads the size from it. */
function png(width: number, height: number, extra = 0): Uint8Array {
  const bytes = new Uint8Array(33 + extra);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  const view = new DataView(bytes.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  return bytes;
}

const dataUrl = (bytes: Uint8Array, type = 'image/png') =>
  `data:${type};base64,${Buffer.from(bytes).toString('base64')}`;

/** Decodes the size from a PNG header; "encodes" to a JPEG-looking blob of about `bytesPerPixel` per pixel. */
function fakeCodec(bytesPerPixel = 0.1): ImageCodec & { encoded: Array<{ width: number; height: number }> } {
  const encoded: Array<{ width: number; height: number }> = [];
  return {
    encoded,
    async decode(blob): Promise<DecodedImage> {
      const bytes = new Uint8Array(await blob.arrayBuffer());
      if (bytes[1] !== 0x50) throw new Error('cannot decode');
      const view = new DataView(bytes.buffer);
      return {
        width: view.getUint32(16),
        height: view.getUint32(20),
        async encode(width, height) {
          encoded.push({ width, height });
          const out = new Uint8Array(Math.max(4, Math.round(width * height * bytesPerPixel)));
          out.set([0xff, 0xd8, 0xff]);
          return new Blob([out], { type: 'image/jpeg' });
        },
        close() {},
      };
    },
  };
}

describe('private addresses', () => {
  it('knows loopback, private, link-local and local names', () => {
    for (const host of [
      'localhost',
      'app.localhost',
      'printer.local',
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '[::1]',
      '::1',
      'fd12:3456::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
    ])
      expect(isPrivateHost(host), host).toBe(true);
    for (const host of [
      'example.com',
      '8.8.8.8',
      '172.32.0.1',
      '192.169.0.1',
      '2001:db8::1',
      'local.example',
    ])
      expect(isPrivateHost(host), host).toBe(false);
  });
});

describe('formats', () => {
  it('sniffs image types from their first bytes', () => {
    expect(sniffImageType(png(1, 1))).toBe('image/png');
    expect(sniffImageType(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
    expect(sniffImageType(new TextEncoder().encode('GIF89a....'))).toBe('image/gif');
    expect(sniffImageType(new TextEncoder().encode('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp');
    expect(sniffImageType(new TextEncoder().encode('  <svg xmlns="http://www.w3.org/2000/svg">'))).toBe(
      'image/svg+xml',
    );
    expect(sniffImageType(new TextEncoder().encode('<?xml version="1.0"?><svg>'))).toBe('image/svg+xml');
    expect(sniffImageType(new TextEncoder().encode('<html>not an image'))).toBeNull();
  });

  it('base64-encodes large buffers', () => {
    const bytes = new Uint8Array(100_000).map((_, i) => i % 251);
    expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
  });
});

describe('prepareImage', () => {
  const page = { pageUrl: 'https://news.example/article' };

  it('sends a small PNG as it is (a marker in its bytes survives)', async () => {
    const bytes = png(320, 200, 16);
    bytes.set(new TextEncoder().encode('GLIMG-S1'), 33);
    const codec = fakeCodec();
    const out = await prepareImage(dataUrl(bytes), { ...page, codec });
    expect(out).toEqual({ ok: true, dataUrl: dataUrl(bytes), width: 320, height: 200, reencoded: false });
    expect(codec.encoded).toEqual([]);
  });

  it('downscales a large image to JPEG within the longest side', async () => {
    const codec = fakeCodec();
    const out = await prepareImage(dataUrl(png(4000, 3000)), { ...page, codec });
    expect(out).toMatchObject({ ok: true, width: MAX_IMAGE_SIDE, height: 768, reencoded: true });
    expect(out.ok && out.dataUrl.startsWith('data:image/jpeg;base64,')).toBe(true);
  });

  it('shrinks further until the data: URL fits the size limit, or says it cannot', async () => {
    const codec = fakeCodec(1);
    const out = await prepareImage(dataUrl(png(2000, 2000)), { ...page, codec, maxChars: 400_000 });
    expect(out.ok && out.dataUrl.length).toBeLessThanOrEqual(400_000);
    expect(codec.encoded.length).toBeGreaterThan(1);
    await expect(prepareImage(dataUrl(png(2000, 2000)), { ...page, codec, maxChars: 100 })).rejects.toThrow(
      ImageError,
    );
  });

  it('re-encodes formats other than PNG, JPEG and WebP', async () => {
    const codec: ImageCodec = {
      async decode() {
        return {
          width: 100,
          height: 100,
          encode: async () => new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0])], { type: 'image/jpeg' }),
          close() {},
        };
      },
    };
    const out = await prepareImage(dataUrl(new TextEncoder().encode('GIF89a......'), 'image/gif'), {
      ...page,
      codec,
    });
    expect(out).toMatchObject({ ok: true, reencoded: true });
  });

  it('skips SVG and tiny images, with a reason', async () => {
    const svg = `data:image/svg+xml,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg"></svg>')}`;
    expect(await prepareImage(svg, { ...page, codec: fakeCodec() })).toEqual({
      ok: false,
      reason: 'SVG images are not checked.',
    });
    expect(await prepareImage(dataUrl(png(16, 400)), { ...page, codec: fakeCodec() })).toEqual({
      ok: false,
      reason: 'The image is too small.',
    });
  });

  it('refuses what is not an image, bad URLs and other schemes with a clear message', async () => {
    const codec = fakeCodec();
    await expect(prepareImage('data:text/plain,hello', { ...page, codec })).rejects.toThrow(
      'The file is not an image Guardlens can read.',
    );
    await expect(prepareImage('not a url', { ...page, codec })).rejects.toThrow(
      'The image URL is not valid.',
    );
    await expect(prepareImage('ftp://a.example/x.png', { ...page, codec })).rejects.toThrow(
      'Images from ftp: URLs cannot be checked.',
    );
    await expect(prepareImage('data:image/png;base64,%%%', { ...page, codec })).rejects.toThrow(ImageError);
    const broken = png(100, 100); // sniffed as PNG, but the decoder fails
    const failing: ImageCodec = {
      decode: () => Promise.reject(new Error('bad data')),
    };
    await expect(prepareImage(dataUrl(broken), { ...page, codec: failing })).rejects.toThrow(
      'The image could not be decoded.',
    );
  });

  describe('over HTTP', () => {
    let server: http.Server;
    let origin: string;
    const image = png(200, 200);

    beforeAll(async () => {
      server = http.createServer((req, res) => {
        if (req.url === '/ok.png') {
          res.writeHead(200, { 'content-type': 'image/png' });
          res.end(Buffer.from(image));
        } else if (req.url === '/huge.png') {
          res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(50_000_000) });
          res.end();
        } else {
          res.writeHead(404);
          res.end();
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('fetches an image for a page on the same private network', async () => {
      const out = await prepareImage(`${origin}/ok.png`, {
        pageUrl: `${origin}/page.html`,
        codec: fakeCodec(),
      });
      expect(out).toEqual({ ok: true, dataUrl: dataUrl(image), width: 200, height: 200, reencoded: false });
    });

    it('refuses a loopback image for a page on the public web', async () => {
      await expect(
        prepareImage(`${origin}/ok.png`, { pageUrl: 'https://news.example/', codec: fakeCodec() }),
      ).rejects.toThrow('Images on local or private network addresses are not fetched for this page.');
    });

    it('reports HTTP errors and oversized downloads', async () => {
      await expect(
        prepareImage(`${origin}/missing.png`, { pageUrl: `${origin}/`, codec: fakeCodec() }),
      ).rejects.toThrow('The image could not be downloaded (HTTP 404).');
      await expect(
        prepareImage(`${origin}/huge.png`, { pageUrl: `${origin}/`, codec: fakeCodec() }),
      ).rejects.toThrow('The image is too large to download.');
    });
  });
});

describe('imageSupport', () => {
  const base = defaultSettings();
  it('takes images only with a model and endpoint that do, in chat mode', () => {
    expect(
      imageSupport({ ...base, guardModel: 'llama-guard-4-12b', provider: 'custom', requestMode: 'chat' }),
    ).toBeNull();
    expect(
      imageSupport({
        ...base,
        guardModel: 'llama-guard-3-11b-vision',
        provider: 'together',
        requestMode: 'chat',
      }),
    ).toBeNull();
    expect(
      imageSupport({ ...base, guardModel: 'llama-guard-3-8b', provider: 'custom', requestMode: 'chat' }),
    ).toMatch(/does not take images/);
    expect(
      imageSupport({ ...base, guardModel: 'llama-guard-4-12b', provider: 'custom', requestMode: 'raw' }),
    ).toBe('Images can only be checked in chat mode.');
    expect(
      imageSupport({ ...base, guardModel: 'llama-guard-4-12b', provider: 'ollama', requestMode: 'chat' }),
    ).toMatch(/does not take images/);
  });
});

describe('checkImage', () => {
  function host(verdict: Verdict | Error, settings: Partial<Settings> = {}) {
    const check = vi.fn(async () => {
      if (verdict instanceof Error) throw verdict;
      return verdict;
    });
    const h = { engine: { check }, state: { settings: { ...defaultSettings(), ...settings } } };
    return { h: h as unknown as EngineHost, check };
  }
  const place = {
    tabId: 3,
    frameId: 0,
    url: 'http://127.0.0.1/p.html',
    pageUrl: 'http://127.0.0.1/p.html',
    ref: 'g7',
    priority: 'viewport' as const,
  };
  const image = { src: dataUrl(png(300, 200)), alt: 'A dog', context: 'Caption — text' };

  it('asks the engine with the image as a data: URL, its alt text and context', async () => {
    const { h, check } = host({ safe: true, categories: [], unknownCategories: [] });
    expect(await checkImage(h, place, image, fakeCodec())).toEqual({ status: 'safe' });
    expect(check).toHaveBeenCalledWith({
      kind: 'image',
      tabId: 3,
      frameId: 0,
      url: place.url,
      ref: 'g7',
      priority: 'viewport',
      text: 'A dog',
      context: 'Caption — text',
      imageData: image.src,
    });
  });

  it('returns a flagged verdict with the person’s action and the category names', async () => {
    const { h } = host(
      { safe: false, categories: ['S1', 'S10'], unknownCategories: [] },
      { categoryActions: { S10: 'hide' } },
    );
    expect(await checkImage(h, place, image, fakeCodec())).toEqual({
      status: 'flagged',
      verdict: { ref: 'g7', categories: ['S1', 'S10'], names: ['Violent Crimes', 'Hate'], action: 'hide' },
    });
  });

  it('treats categories the person ignores as nothing to enforce', async () => {
    const { h } = host(
      { safe: false, categories: ['S12'], unknownCategories: [] },
      { categoryActions: { S12: 'ignore' } },
    );
    expect(await checkImage(h, place, image, fakeCodec())).toEqual({ status: 'safe' });
  });

  it('says why an image was skipped or could not be checked', async () => {
    const { h, check } = host(new Error('The endpoint is failing: HTTP 500.'));
    expect(await checkImage(h, place, image, fakeCodec())).toEqual({
      status: 'error',
      reason: 'The endpoint is failing: HTTP 500.',
    });
    expect(await checkImage(h, place, { ...image, src: dataUrl(png(8, 8)) }, fakeCodec())).toEqual({
      status: 'skipped',
      reason: 'The image is too small.',
    });
    expect(await checkImage(h, place, { ...image, src: 'javascript:alert(1)' }, fakeCodec())).toEqual({
      status: 'error',
      reason: 'Images from javascript: URLs cannot be checked.',
    });
    expect(check).toHaveBeenCalledTimes(1);
  });
});

describe('host permissions', () => {
  it('says so when an image cannot be read for want of a host permission', async () => {
    let granted = false;
    const contains = vi
      .spyOn(browser.permissions, 'contains')
      .mockImplementation((() => Promise.resolve(granted)) as unknown as typeof browser.permissions.contains);
    try {
      // Nothing listens on port 9: the download fails as a CORS refusal would.
      await expect(
        prepareImage('http://127.0.0.1:9/x.png', { pageUrl: 'http://127.0.0.1/', codec: fakeCodec() }),
      ).rejects.toThrow(ImagePermissionError);
      await expect(
        prepareImage('http://127.0.0.1:9/x.png', { pageUrl: 'http://127.0.0.1/', codec: fakeCodec() }),
      ).rejects.toThrow(
        'Guardlens may not download images from 127.0.0.1:9: turn on "Allow" under Check images',
      );
      expect(contains).toHaveBeenCalledWith({ origins: ['http://127.0.0.1/*'] });
      granted = true;
      await expect(
        prepareImage('http://127.0.0.1:9/x.png', { pageUrl: 'http://127.0.0.1/', codec: fakeCodec() }),
      ).rejects.toThrow('The image could not be downloaded:');
    } finally {
      contains.mockRestore();
    }
  });
});

describe('images of the frame’s own site without a host permission', () => {
  const base = {
    tabId: 3,
    frameId: 0,
    pageUrl: 'http://127.0.0.1:9/',
    ref: 'g1',
    priority: 'image' as const,
  };
  const image = { src: 'http://127.0.0.1:9/own.png', alt: '', context: '' };
  const verdict = { safe: true, categories: [], unknownCategories: [] };

  it('are read by the frame’s content script; other sites’ images report the missing permission', async () => {
    const contains = vi
      .spyOn(browser.permissions, 'contains')
      .mockImplementation((() => Promise.resolve(false)) as unknown as typeof browser.permissions.contains);
    const check = vi.fn(async () => verdict);
    const h = { engine: { check }, state: { settings: defaultSettings() } } as unknown as EngineHost;
    const readInPage = vi.fn(async () => dataUrl(png(300, 200)));
    try {
      const own = await checkImage(
        h,
        { ...base, url: 'http://127.0.0.1:9/page' },
        image,
        fakeCodec(),
        readInPage,
      );
      expect(own).toEqual({ status: 'safe' });
      expect(readInPage).toHaveBeenCalledWith(image.src);
      expect(check).toHaveBeenCalledTimes(1);

      const other = await checkImage(
        h,
        { ...base, url: 'http://127.0.0.1:8/page' },
        image,
        fakeCodec(),
        readInPage,
      );
      expect(other.status).toBe('error');
      expect(other).toMatchObject({
        reason: expect.stringContaining('may not download images from 127.0.0.1:9'),
      });
      expect(readInPage).toHaveBeenCalledTimes(1);
    } finally {
      contains.mockRestore();
    }
  });
});
