/**
 * The one typed message protocol between Guardlens' content scripts, background and extension pages.
 * Each feature declares its messages in `utils/protocol/<feature>.ts`; this module joins them.
 *
 * Built on `@webext-core/messaging` (runtime/tabs messaging). Web pages cannot reach it: the manifest declares no
 * `externally_connectable`, and the background additionally checks that every sender is this extension
 * (`isOwnSender`). Nothing sent to a content script ever carries the API key or settings a page should not see.
 */
import { defineExtensionMessaging } from '@webext-core/messaging';
import type { PageProtocol } from './protocol/page';
import type { PopupProtocol } from './protocol/popup';
import type { PromptProtocol } from './protocol/prompt';

export type * from './protocol/page';
export type * from './protocol/popup';
export type * from './protocol/prompt';

export interface ProtocolMap extends PageProtocol, PopupProtocol, PromptProtocol {}

export const { sendMessage, onMessage } = defineExtensionMessaging<ProtocolMap>();

/** True when a message comes from this extension (its pages or its content scripts). */
export function isOwnSender(sender: { id?: string } | undefined, ownId: string): boolean {
  return !!sender && sender.id === ownId;
}
