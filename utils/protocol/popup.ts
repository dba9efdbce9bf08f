/** Messages between the extension pages (popup, options) and the background. */
import type { TabState } from '@/lib/engine/types';
import type { GuardErrorData } from '@/lib/guard/errors';
import type { Verdict } from '@/lib/guard/types';
import type { Settings } from '@/lib/settings/schema';
import type { PageConfig } from './page';

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

export interface PopupProtocol {
  'tab:state'(data: { tabId: number }): TabView;
  /** Classifies a harmless sentence with the given (unsaved) settings, or the saved ones. */
  'endpoint:test'(data: { settings?: Settings; apiKey?: string } | undefined): EndpointTestResult;
}
