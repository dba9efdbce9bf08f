/**
 * Text that lib builds in English and the extension shows from its messages file. A sentence is a template from
 * a table of templates (the key is its message key in `public/_locales/en/messages.json`) with values in its
 * placeholders: `$1`, `$2` … in order, like the messages file's `placeholders`. lib keeps the English (the CLI and
 * logs print it) and hands the key and values along, so the extension can show the same sentence in the
 * person's language. Pure: no extension APIs.
 */

/** A sentence by its message key and the values of its placeholders, in order. */
export interface MessageText {
  key: string;
  subs?: string[];
}

/** A browser's `i18n.getMessage`: the message with its placeholders filled, or '' / undefined when it has none. */
export type GetMessage = (key: string, substitutions?: string[]) => string | undefined;

/** `template` with `subs` in its placeholders (`$1` is the first; a missing value is left empty). */
export function fill(template: string, subs: readonly (string | number)[] = []): string {
  return template.replace(/\$(\d)/g, (_, n: string) => {
    const value = subs[Number(n) - 1];
    return value === undefined ? '' : String(value);
  });
}

/** The structured text of a sentence: `subs` only when there are values. */
export function messageText(key: string, subs: readonly (string | number)[] = []): MessageText {
  return subs.length ? { key, subs: subs.map(String) } : { key };
}

/** True for a well-formed `MessageText` (a message key, and strings as values), e.g. one read from a message. */
export function isMessageText(value: unknown): value is MessageText {
  if (!value || typeof value !== 'object') return false;
  const { key, subs } = value as { key?: unknown; subs?: unknown };
  if (typeof key !== 'string' || !/^[A-Za-z0-9_]+$/.test(key)) return false;
  return subs === undefined || (Array.isArray(subs) && subs.every((s) => typeof s === 'string'));
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A reader for sentences made from `templates`: it gives back the key and values of a sentence, or undefined for
 * any other text. Templates with the most fixed text are tried first, so a specific sentence wins over a general
 * one that also fits. Filling the result again gives back the text. The patterns are made on the first read, so a
 * bundle that imports the templates without reading sentences pays nothing for them.
 */
export function templateReader<K extends string>(
  templates: Readonly<Record<K, string>>,
): (text: string) => { key: K; subs: string[] } | undefined {
  let matchers: ReturnType<typeof makeMatchers<K>> | undefined;
  return (text) => {
    matchers ??= makeMatchers(templates);
    for (const { key, pattern, order } of matchers) {
      const match = pattern.exec(text);
      if (!match) continue;
      const subs: string[] = [];
      order.forEach((n, i) => {
        subs[n - 1] = match[i + 1] ?? '';
      });
      const filled = Array.from(subs, (s) => s ?? '');
      if (fill(templates[key], filled) === text) return { key, subs: filled };
    }
    return undefined;
  };
}

function makeMatchers<K extends string>(templates: Readonly<Record<K, string>>) {
  return (Object.entries(templates) as [K, string][])
    .map(([key, template]) => {
      const order: number[] = [];
      const source = template
        .split(/(\$\d)/)
        .map((part) => {
          if (/^\$\d$/.test(part)) {
            order.push(Number(part.slice(1)));
            return '([\\s\\S]*?)';
          }
          return escapeRegExp(part);
        })
        .join('');
      return { key, pattern: new RegExp(`^${source}$`), order, fixed: template.replace(/\$\d/g, '').length };
    })
    .sort((a, b) => b.fixed - a.fixed);
}

/**
 * `text` in the messages file's words through `getMessage`, each value first passed through `sub` (to translate
 * values that are sentences of their own); `fallback` (the English) when there is no message or the browser
 * cannot answer.
 */
export function translateText(
  getMessage: GetMessage,
  text: MessageText,
  fallback: string,
  sub: (value: string, index: number) => string = (value) => value,
): string {
  try {
    const subs = (text.subs ?? []).map(sub);
    return getMessage(text.key, subs.length ? subs : undefined) || fallback;
  } catch {
    return fallback;
  }
}
