/** Messages between the page content script and the background (page scanning and enforcement). */
import type { CategoryAction } from '@/lib/settings/schema';

export type Action = CategoryAction;

/** What a page content script needs to know at start-up. Deliberately small: no key, no endpoint. */
export interface PageConfig {
  /** Do nothing at all on this page (excluded site, paused site, incognito not allowed, not configured). */
  active: boolean;
  /** Why the page is inactive, for the popup. */
  reason?: 'excluded' | 'paused' | 'incognito' | 'not-configured' | 'disabled';
  scanText: boolean;
  scanImages: boolean;
  hideImagesUntilChecked: boolean;
  onDemand: boolean;
}

/** A block of visible text the content script found, tied to its element by `ref`. */
export interface BlockReport {
  ref: string;
  text: string;
  /** In or near the viewport when reported. */
  visible: boolean;
}

/** A verdict the page must enforce on one element. */
export interface PageVerdict {
  ref: string;
  categories: string[];
  /** People-facing names of the categories, in the same order. */
  names: string[];
  action: Action;
}

export interface PageProtocol {
  // content script → background
  'page:hello'(data: { url: string }): PageConfig;
  'page:blocks'(data: { url: string; blocks: BlockReport[] }): { accepted: number };
  // background → content script
  'page:verdicts'(data: { url: string; verdicts: PageVerdict[] }): void;
  'page:rescan'(): void;
}
