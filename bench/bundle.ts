/**
 * Bundle sizes of each entry point of the Chrome build: the files the manifest names, the scripts and styles
 * an extension page's HTML loads, and the chunks those import, each counted once per entry point (raw and
 * gzip, which is roughly what a store download and the disk cache hold).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

export interface EntrySize {
  entry: string;
  files: string[];
  bytes: number;
  gzipBytes: number;
}

export interface BundleSizes {
  entries: EntrySize[];
  /** Every file of the build. */
  totalBytes: number;
  totalFiles: number;
}

interface Manifest {
  background?: { service_worker?: string; scripts?: string[]; page?: string };
  content_scripts?: Array<{ js?: string[]; css?: string[]; matches?: string[] }>;
  action?: { default_popup?: string };
  browser_action?: { default_popup?: string };
  options_ui?: { page?: string };
  options_page?: string;
}

const IMPORT =
  /(?:import|export)\s*(?:[^'"()]*?from\s*)?["']([^"']+\.js)["']|import\(\s*["']([^"']+\.js)["']\s*\)/g;
const HTML_REF = /<(?:script|link)\b[^>]*?(?:src|href)=["']([^"']+\.(?:js|css))["']/g;

/** The file and everything it loads, as build-relative paths. */
function closure(dir: string, start: string[]): string[] {
  const seen = new Set<string>();
  const queue = [...start];
  while (queue.length > 0) {
    const file = queue.shift()!.replace(/^\//, '');
    if (seen.has(file) || !existsSync(path.join(dir, file))) continue;
    seen.add(file);
    const text = readFileSync(path.join(dir, file), 'utf8');
    const base = path.posix.dirname(file);
    const refs: string[] = [];
    if (file.endsWith('.html')) for (const m of text.matchAll(HTML_REF)) refs.push(m[1]!);
    if (file.endsWith('.js')) for (const m of text.matchAll(IMPORT)) refs.push((m[1] ?? m[2])!);
    for (const ref of refs) {
      if (/^[a-z-]+:/i.test(ref)) continue;
      queue.push(ref.startsWith('/') ? ref.slice(1) : path.posix.normalize(path.posix.join(base, ref)));
    }
  }
  return [...seen];
}

function sizeOf(dir: string, entry: string, files: string[]): EntrySize {
  let bytes = 0;
  let gzipBytes = 0;
  for (const f of files) {
    const data = readFileSync(path.join(dir, f));
    bytes += data.length;
    gzipBytes += gzipSync(data, { level: 9 }).length;
  }
  return { entry, files, bytes, gzipBytes };
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

export function bundleSizes(dir: string): BundleSizes {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const entries: EntrySize[] = [];
  const add = (entry: string, start: string[]) => entries.push(sizeOf(dir, entry, closure(dir, start)));
  const bg = manifest.background;
  if (bg?.service_worker) add(`background (${bg.service_worker})`, [bg.service_worker]);
  else if (bg?.scripts) add('background', bg.scripts);
  else if (bg?.page) add(`background (${bg.page})`, [bg.page]);
  for (const cs of manifest.content_scripts ?? []) {
    const files = [...(cs.js ?? []), ...(cs.css ?? [])];
    if (files.length) add(`content script ${files.join(' + ')}`, files);
  }
  const popup = manifest.action?.default_popup ?? manifest.browser_action?.default_popup;
  if (popup) add(`popup (${popup})`, [popup]);
  const options = manifest.options_ui?.page ?? manifest.options_page;
  if (options) add(`options (${options})`, [options]);
  const all = walk(dir);
  return {
    entries,
    totalBytes: all.reduce((n, f) => n + statSync(f).size, 0),
    totalFiles: all.length,
  };
}
