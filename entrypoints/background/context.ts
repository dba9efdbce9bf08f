/** What every group of background handlers gets: the engine host (created on first use) and the extension id. */
import type { EngineHost } from './host';

export interface BackgroundContext {
  host(): Promise<EngineHost>;
  ownId: string;
}
