/**
 * The one typed message protocol between Guardlens' content scripts, background and extension pages.
 *
 * Built on `@webext-core/messaging` (runtime/tabs messaging). Web pages cannot reach it: the manifest declares no
 * `externally_connectable`, and the background additionally checks that every sender is this extension
 * (`isOwnSender`). Nothing sent to a content script ever carries the API key or settings a page should not see.
 */
import { defineExtensionMessaging } from '@webext-core/messaging';
import type { TabState } from '@/lib/engine/types';
import type { GuardErrorData } from '@/lib/guard/errors';
import type { Verdict } from '@/lib/guard/types';
import type { Settings } from '@/lib/settings/schema';

export type Action = 'blur' | 'hide' | 'label' | 'ignore';

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

/** The answer to "Test connection": a real request to the endpoint. */
export type EndpointTestResult =
  | { ok: true; verdict: Verdict; latencyMs: number; promptTokens: number; completionTokens: number }
  | { ok: false; error: GuardErrorData };

/** What the popup shows for one tab. */
export interface TabView {
  tabId: number;
  configured: boolean;
  inactiveReason?: PageConfig['reason'];
  state?: TabState;
  /** Flagged categories with the model card's names, in code order. */
  categories: { code: string; name: string; description: string; count: number }[];
  endpoint: {
    provider: string;
    model: string;
    guardModel: string;
    lastLatencyMs?: number;
    lastError?: GuardErrorData;
  };
}

export interface ProtocolMap {
  // content script → background
  'page:hello'(data: { url: string }): PageConfig;
  'page:blocks'(data: { url: string; blocks: BlockReport[] }): { accepted: number };
  // background → content script
  'page:verdicts'(data: { url: string; verdicts: PageVerdict[] }): void;
  'page:rescan'(): void;
  // extension pages → background
  'tab:state'(data: { tabId: number }): TabView;
  /** Classifies a harmless sentence with the given (unsaved) settings, or the saved ones. */
  'endpoint:test'(data: { settings?: Settings; apiKey?: string } | undefined): EndpointTestResult;
}

export const { sendMessage, onMessage } = defineExtensionMessaging<ProtocolMap>();

/** True when a message comes from this extension (its pages or its content scripts). */
export function isOwnSender(sender: { id?: string } | undefined, ownId: string): boolean {
  return !!sender && sender.id === ownId;
}
