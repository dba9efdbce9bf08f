/**
 * Which of some elements are in or near the viewport, from an IntersectionObserver (the browser computes it
 * with the next frame, without forcing a layout). A hidden tab may not render for a while: elements not
 * reported within `timeoutMs` count as out of view.
 */
import { measure } from './slices';

export function inViewport(elements: readonly Element[], timeoutMs = 800): Promise<Set<Element>> {
  return new Promise((resolve) => {
    const inView = new Set<Element>();
    if (elements.length === 0 || typeof IntersectionObserver !== 'function') {
      resolve(inView);
      return;
    }
    const pending = new Set(elements);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const observer = new IntersectionObserver(
      (entries) =>
        measure(() => {
          for (const entry of entries) {
            if (!pending.delete(entry.target)) continue;
            if (entry.isIntersecting) inView.add(entry.target);
          }
          if (pending.size === 0) finish();
        }),
      { rootMargin: '25% 0px' },
    );
    const finish = () => {
      observer.disconnect();
      clearTimeout(timer);
      resolve(inView);
    };
    timer = setTimeout(finish, timeoutMs);
    for (const element of elements) observer.observe(element);
  });
}
