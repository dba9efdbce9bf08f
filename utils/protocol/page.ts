/** Messages between the page content script and the background (page scanning and enforcement). */

import type { NotCheckedReason } from '@/lib/engine/types';
import type { CategoryAction, FailMode } from '@/lib/settings/schema';

/**
 * Text sent per page state at most, in characters (about 250,000 tokens): a page of endless text, or one that
 * keeps adding it, is checked up to here, so what it can cost is bounded. Long articles are far below. What is
 * left out is not silent: the session reports how much (`unchecked`), and the popup says the page was checked
 * only in part.
 */
export const MAX_CHARS_PER_PAGE = 1_000_000;

export type Action = CategoryAction;

/** Why a page is not scanned. */
export type InactiveReason = 'excluded' | 'paused' | 'incognito' | 'not-configured' | 'disabled';

/** The strings the page script shows (keys of the extension's messages file). */
export const PAGE_MESSAGES = [
  'page_labelFlagged',
  'page_labelUnchecked',
  'page_show',
  'page_hide',
  'page_showAria',
  'page_hideAria',
  'page_close',
  'page_checkSafe',
  'page_checkFlagged',
  'page_checkFailed',
  'page_imageReadStatus',
  'page_imageTooLarge',
  'page_imageUnreadable',
  'page_imageScheme',
] as const;

export type PageMessage = (typeof PAGE_MESSAGES)[number];

/** The page script's strings in the extension's language, by key, with `$1` where a value goes. */
export type PageStrings = Partial<Record<PageMessage, string>>;

/** What a page content script needs to know at start-up. Deliberately small: no key, no endpoint. */
export interface PageConfig {
  /** Do nothing at all on this page (excluded site, paused site, incognito not allowed, not configured). */
  active: boolean;
  /** Why the page is inactive, for the popup. */
  reason?: InactiveReason;
  scanText: boolean;
  /** Images are checked: the setting is on and the model and endpoint take images. */
  scanImages: boolean;
  hideImagesUntilChecked: boolean;
  /** Scan only when asked (`page:rescan`, from the popup or the context menu). */
  onDemand: boolean;
  /** What an image hidden until checked does when it cannot be checked: show (`open`) or stay covered. */
  failMode: FailMode;
  /**
   * The strings the page script shows, from the background: the first `i18n.getMessage` in a frame loads the
   * extension's messages into it, which held the first label on a page back by 12–17 ms.
   */
  strings?: PageStrings;
}

/** A block of visible text the content script found, tied to its element by `ref`. */
export interface BlockReport {
  ref: string;
  text: string;
  /** In or near the viewport when reported. */
  visible: boolean;
}

/** An image the content script found near the viewport. */
export interface ImageReport {
  ref: string;
  /** An `http(s):` URL for the background to fetch, or a `data:` URL the content script read (`blob:` images). */
  src: string;
  /** Alt text (or title). */
  alt: string;
  /** The nearest caption and the text around the image. */
  context: string;
  visible: boolean;
}

/** What became of one image. */
export type ImageResult =
  | { status: 'safe' }
  | { status: 'flagged'; verdict: PageVerdict }
  /** Not sent: tiny, decorative, SVG… (`reason` says which). */
  | { status: 'skipped'; reason: string }
  /** Could not be checked (fetch failed, endpoint failed…): the fail mode decides what the page shows. */
  | { status: 'error'; reason: string };

/** A verdict the page must enforce on one element. */
export interface PageVerdict {
  ref: string;
  categories: string[];
  /** People-facing names of the categories, in the same order. */
  names: string[];
  action: Action;
}

/**
 * The result of a check the person asked for from the context menu. Shown on the page (`page:check-result`)
 * and kept for the popup in `storage.session` under `manualCheckKey(tabId)` until the tab closes or navigates.
 */
export interface ManualCheck {
  kind: 'text' | 'image';
  /** The start of the selected text, or the image's URL (shortened). */
  snippet: string;
  /** The image's URL, for an image check (so the page can mark that image). */
  src?: string;
  status: 'safe' | 'flagged' | 'error' | 'refused';
  categories: string[];
  names: string[];
  action?: Action;
  /** For `error` / `refused`: why, in words a person can act on. */
  reason?: string;
  at: number;
}

export function manualCheckKey(tabId: number): string {
  return `check:${tabId}`;
}

/** How much the content script of one frame did, and what it cost the page's main thread. */
export interface PageStats {
  /** Tasks the script ran (slices, observer callbacks, message handlers). */
  tasks: number;
  totalMs: number;
  longestMs: number;
  blocksSent: number;
  imagesChecked: number;
  flagged: number;
  errors: number;
  /** The page is being scanned (false on inactive pages and, with scan on demand, until asked). */
  scanning: boolean;
  /** No scanning work is queued. */
  idle: boolean;
  /** What the longest task was (slice, mutations, send, verdicts…). */
  longestTask: string;
}

export interface PageProtocol {
  // content script → background
  'page:hello'(data: { url: string }): PageConfig;
  /**
   * `inactive` when the site was excluded or paused meanwhile: the page stops scanning. `unchecked`: characters
   * of the frame's text not sent because the page state reached its limit (`MAX_CHARS_PER_PAGE`), in all so far.
   */
  'page:blocks'(data: { url: string; blocks: BlockReport[]; unchecked?: number }): {
    accepted: number;
    inactive?: InactiveReason;
  };
  /**
   * This frame's scan could not start or stopped (`reason`), or runs again (`null`): the popup then says the page
   * was not (fully) checked, with the reason, and never shows it as clean.
   */
  'page:not-checked'(data: { url: string; reason: NotCheckedReason | null }): void;
  /** Checks one image (fetched and downscaled by the background) and answers when its verdict is known. */
  'page:image'(data: { url: string; image: ImageReport }): ImageResult;
  // background → content script
  'page:verdicts'(data: { url: string; verdicts: PageVerdict[] }): void;
  /** Scan the page now (scan on demand, or again). Sent to every frame of a tab. */
  'page:rescan'(): { started: boolean; reason?: InactiveReason };
  /** Shows the result of a context-menu check on the page. */
  'page:check-result'(data: ManualCheck): void;
  /** Reads a `blob:` image of the page as a `data:` URL (the background cannot fetch the page's blobs). */
  'page:read-image'(data: { src: string }): { dataUrl: string } | { error: string };
  /** The frame's scanning statistics (diagnostics and tests). */
  'page:stats'(): PageStats;
  // popup → background
  /** Scan this tab now: forwards `page:rescan` to its frames. */
  'page:scan-now'(data: { tabId: number }): { started: boolean; reason?: InactiveReason | 'unreachable' };
}
