/**
 * What WXT's content-script entry hands to `main` in Guardlens' content scripts, in place of WXT's own
 * `ContentScriptContext` (wxt.config.ts points the module here for every build).
 *
 * WXT's context announces every script start to the page — a `window.postMessage` and a DOM event, both naming
 * the extension's id — so that an older copy of the script can stop. That told every page that Guardlens is
 * installed, let any page end a script with a forged announcement, and the post alone took about 3 ms of the
 * page's main thread in every frame (test/e2e/page/bundle.e2e.ts keeps it out). Guardlens' scripts take nothing
 * from this context: they end when the extension itself is gone (`utils/lifetime.ts`), which a page cannot fake.
 */
export class ContentScriptContext {
  constructor(
    readonly contentScriptName: string,
    readonly options?: object,
  ) {}
}
