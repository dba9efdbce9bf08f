import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'wxt';

/**
 * Public half of the key that pins the Chrome extension id to
 * pmmobbhmpddpcfiehnfikpngpoikbilp (see README). The private half is not needed
 * to load the unpacked build; the Chrome Web Store signs its own packages.
 */
const CHROME_KEY =
  'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAt0DbqdiBkgCasX8FBe26UjhKKSdK31go67ArpVE+zvObbOOBkIWrCH2INO5AYWf6lfMRHscnJ/T9CUecWX7aeXCcJVMIiYMIQYx/AOStjqtLBf3dQ4vZ/gFoRKYB7QnTxnVyZQqWUBOuymFCogd6uG50nqq56QUkkR8RsoPWDV0n/VJS9gBGENHL3IcU7Tp+0rmMv4dSbzxD3fCWPXnSCU10LVwlWDETj+I3VHqauL6WMRnEdmXss67jNtoRO0UK4+O5b2ZhkNQavVsFxt/D4r6L77UhMP6sY1h6OrEaprV9WryQ6YqlPXs0YM8dysssZG68jSdp4qdxKmU4kZa3fQIDAQAB';

export const GECKO_ID = 'guardlens@guardlens.dev';

const CONTENT_CONTEXT = fileURLToPath(new URL('./utils/content-context.ts', import.meta.url));

/** An unminified build for `npm run bench:profile`, beside the real one. */
const UNMINIFIED = process.env.GUARDLENS_NO_MINIFY === '1';

export default defineConfig({
  modules: ['@wxt-dev/webextension-polyfill'],
  // `components/` (the popup's and options page's parts) is imported by name where it is used, never auto-imported:
  // the auto-import scanner takes any bare `t` (a loop variable, a `this.t` field) for `components/i18n`'s
  // translator and would bundle the options page's texts into the content scripts that load into every page
  // (test/e2e/page/bundle.e2e.ts).
  // utils/content-context.ts stands in for WXT's own module of the same export name (below), so it is not one either.
  imports: {
    dirsScanOptions: {
      fileFilter: (file: string) => !/(^|\/)components\/|(^|\/)utils\/content-context\.ts$/.test(file),
    },
  },
  srcDir: '.',
  outDir: UNMINIFIED ? '.output/profile' : '.output',
  vite: () => ({
    plugins: [preact()],
    // WXT's content-script entry gets Guardlens' own context: WXT's announces every script start to the page
    // (naming the extension) and costs milliseconds in every frame (utils/content-context.ts).
    resolve: {
      alias: [{ find: /^wxt\/utils\/content-script-context$/, replacement: CONTENT_CONTEXT }],
    },
    // bench/profile.ts builds without minifying, so the content script's functions keep their names.
    build: { sourcemap: false, ...(UNMINIFIED ? { minify: false } : {}) },
  }),
  manifest: ({ browser }) => ({
    name: '__MSG_extName__',
    description: '__MSG_extDescription__',
    default_locale: 'en',
    // scripting: the prompt guard on chatbot sites the person adds (entrypoints/background/prompt-handlers.ts).
    permissions: ['storage', 'unlimitedStorage', 'contextMenus', 'alarms', 'tabs', 'scripting'],
    host_permissions: ['http://localhost/*', 'http://127.0.0.1/*'],
    optional_host_permissions: ['https://*/*', 'http://*/*'],
    // Strict CSP for extension pages (WXT writes it as MV2's string for Firefox); test/e2e/trust/csp.e2e.ts.
    content_security_policy: { extension_pages: "script-src 'self'; object-src 'none'; base-uri 'none'" },
    ...(browser === 'firefox'
      ? {
          browser_specific_settings: {
            gecko: {
              id: GECKO_ID,
              // 140 (the ESR before 153) is the first with data_collection_permissions.
              strict_min_version: '140.0',
              data_collection_permissions: { required: ['websiteContent'], optional: [] },
            },
            gecko_android: { strict_min_version: '142.0' },
          },
          // Firefox builds are MV2: custom endpoints' origins are optional permissions asked for at run time.
          optional_permissions: ['https://*/*', 'http://*/*'],
        }
      : {
          key: CHROME_KEY,
          minimum_chrome_version: '116',
          storage: { managed_schema: 'managed_schema.json' },
        }),
  }),
});
