/**
 * The extension APIs Guardlens' content scripts call, straight from the browser's `chrome` namespace (Chrome and
 * Firefox both have it). They call only synchronous ones — the extension's id and its messages — and send their
 * messages through `@webext-core/messaging`, which uses `chrome.runtime` as well; so the promise polyfill the
 * background and extension pages use (`wxt/browser`) is not bundled into the scripts that load into every frame,
 * where setting it up took about 1.4 ms of the page's main thread (test/e2e/page/bundle.e2e.ts).
 */

interface PageApi {
  runtime?: { id?: string };
  i18n?: { getMessage(key: string, substitutions?: string | string[]): string; getUILanguage?(): string };
}

function api(): PageApi | undefined {
  return (globalThis as { chrome?: PageApi }).chrome;
}

/** Whether the extension is gone (reloaded, updated or removed under the page): its id is then unset. */
export function extensionGone(): boolean {
  try {
    return api()?.runtime?.id == null;
  } catch {
    return true;
  }
}

/** A message from the extension's messages file, or '' when there is none (or the extension is gone). */
export function extensionMessage(key: string, substitutions?: string | string[]): string {
  try {
    return api()?.i18n?.getMessage(key, substitutions) ?? '';
  } catch {
    return '';
  }
}

/** The browser's UI language (`de`, `pt-BR`…), or undefined when the extension is gone. */
export function extensionUiLanguage(): string | undefined {
  try {
    return api()?.i18n?.getUILanguage?.() || undefined;
  } catch {
    return undefined;
  }
}
