/**
 * Messages between the extension pages (popup, options) and the background, and the one message the popup sends
 * to a page's content script (`page:reveal`).
 */
import type { ItemKind, TabState } from '@/lib/engine/types';
import type { GuardErrorData } from '@/lib/guard/errors';
import type { Verdict } from '@/lib/guard/types';
import type { CategoryAction, Settings } from '@/lib/settings/schema';
import type { MessageText } from '@/lib/text';
import type { ManualCheck } from './page';

/** The answer to "Test connection": a real request to the endpoint. */
export type EndpointTestResult =
  | { ok: true; verdict: Verdict; latencyMs: number; promptTokens: number; completionTokens: number }
  | { ok: false; error: GuardErrorData };

/**
 * Why a tab is not scanned: the site is excluded or paused, the tab is private and private windows are not
 * allowed, Guardlens is not set up, or the page is not an ordinary web page (browser pages, files, the store).
 */
export type TabInactiveReason = 'excluded' | 'paused' | 'incognito' | 'not-configured' | 'unsupported';

/** A flagged category of the tab, with the model card's name, in code order. */
export interface CategoryView {
  code: string;
  name: string;
  description: string;
  /** Flagged elements of the tab in this category. */
  count: number;
  /** What the person's settings do with it on the page. */
  action: CategoryAction;
  /** One of the person's own categories (custom categories). */
  custom: boolean;
}

/** One flagged element of the tab. Its text is page content: shown as text, never as HTML. */
export interface FlaggedItemView {
  ref: string;
  /** The frame the element is in (for `page:reveal`). */
  frameId: number;
  kind: ItemKind;
  categories: string[];
  snippet: string;
  /** For an image: a picture the popup may show (a `data:` URL or the image's own http(s) URL). */
  thumbnail?: string;
}

/** The engine's state as the popup shows it: what it is doing, why it stopped, and today's usage. */
export interface EngineView {
  state: 'ok' | 'offline' | 'circuit-open' | 'rate-limited' | 'budget-paused';
  /** Why it is not 'ok', in English. */
  reason?: string;
  /** `reason` by message key and values, when there is a message for it (the popup shows that). */
  reasonText?: MessageText;
  /** Epoch ms when the state is expected to end. */
  until?: number;
  pending: number;
  inFlight: number;
  today: { requests: number; promptTokens: number; completionTokens: number; costUsd: number };
  budgetUsd?: number;
}

/** What the popup shows for one tab. */
export interface TabView {
  tabId: number;
  /** The tab's address and host (undefined when the tab is gone). */
  url?: string;
  host?: string;
  configured: boolean;
  /** Why the endpoint settings are not complete, when `configured` is false. */
  notConfigured?: string;
  inactiveReason?: TabInactiveReason;
  /** Scan only on demand ("Scan now" in the popup). */
  scanOnDemand: boolean;
  state?: TabState;
  /** Flagged categories with the model card's names, in code order. */
  categories: CategoryView[];
  /** Flagged elements, in the order they were found. */
  items: FlaggedItemView[];
  engine: EngineView;
  /** The last check the person asked for from the context menu in this tab (until it closes or navigates). */
  manualCheck?: ManualCheck;
  endpoint: {
    provider: string;
    providerLabel: string;
    model: string;
    guardModel: string;
    guardModelLabel: string;
    /** The provider's price for this model is known (so today's cost is an estimate, not "unknown"). */
    costKnown: boolean;
    lastLatencyMs?: number;
    lastError?: GuardErrorData;
  };
}

/** What the content script says about a `page:reveal` request. */
export interface RevealResult {
  /** The element was found in this frame, scrolled into view and highlighted. */
  found: boolean;
}

export interface PopupProtocol {
  'tab:state'(data: { tabId: number }): TabView;
  /** Classifies a harmless sentence with the given (unsaved) settings, or the saved ones. */
  'endpoint:test'(data: { settings?: Settings; apiKey?: string } | undefined): EndpointTestResult;
  /**
   * popup → content script of one frame (`sendMessage('page:reveal', { ref }, { tabId, frameId })`): scroll the
   * flagged element `ref` into view and highlight it for a moment, without revealing what the person's action
   * hides. Answers `{ found: false }` when the element is no longer in the page.
   */
  'page:reveal'(data: { ref: string }): RevealResult;
}
