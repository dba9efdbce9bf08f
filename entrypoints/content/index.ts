import { type BlockReport, onMessage, type PageVerdict, sendMessage } from '@/utils/messages';
import { applyVerdict } from './enforce';
import { collectBlocks } from './extract';

export default defineContentScript({
  matches: ['<all_urls>'],
  runAt: 'document_idle',
  allFrames: true,
  async main(ctx) {
    let config: Awaited<ReturnType<typeof sendMessage<'page:hello'>>> | undefined;
    try {
      config = await sendMessage('page:hello', { url: location.href });
    } catch {
      return; // the background is not reachable (extension reloading): do nothing
    }
    if (!config?.active || config.onDemand || !config.scanText) return;

    const refs = new Map<string, WeakRef<Element>>();
    const seen = new WeakSet<Element>();
    let nextRef = 1;

    const removeListener = onMessage('page:verdicts', ({ data }) => {
      if (data.url !== location.href) return;
      for (const verdict of data.verdicts as PageVerdict[]) {
        const element = refs.get(verdict.ref)?.deref();
        if (element) applyVerdict(element, verdict);
      }
    });
    ctx.onInvalidated(removeListener);

    const blocks = await collectBlocks(document.body ?? document.documentElement, {
      seen,
      signal: ctx.signal,
    });
    const reports: BlockReport[] = blocks.map(({ element, text }) => {
      const ref = `b${nextRef++}`;
      refs.set(ref, new WeakRef(element));
      seen.add(element);
      return { ref, text, visible: true };
    });
    if (reports.length) await sendMessage('page:blocks', { url: location.href, blocks: reports });
  },
});
