/** Names the background gives people (hazard categories on page labels, in history and in the popup). */

/**
 * A message by computed key (`cat_<family>_<code>_name`) from the messages file; undefined when it has none, so
 * the registry's English stands in.
 */
export function categoryMessage(key: string): string | undefined {
  try {
    // The typed signature only takes literal keys.
    return (browser.i18n as unknown as { getMessage(name: string): string }).getMessage(key) || undefined;
  } catch {
    return undefined;
  }
}
