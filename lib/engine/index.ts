/**
 * The scan engine, for the background. Typical wiring:
 *
 * ```ts
 * const cache = new VerdictCache(new IdbVerdictStore());
 * const engine = new ScanEngine({ classify, fingerprint: settingsFingerprint(settings), cache,
 *   stateStore: sessionStateStore, contextWindow: model.contextWindow, maxImages: model.maxImages,
 *   dailyBudgetUsd });
 * engine.onVerdict((item, verdict) => …);            // tell the tab
 * engine.onTabState((tabId, state) => …);            // storage.session `tab:<tabId>` (null: remove), badge
 * await engine.restore();
 * ```
 *
 * Modules: `types` (item model, errors, clock, state store), `keys` (content keys), `tokens` (estimate),
 * `chunker` (packing, splitting, bisection), `turns` (items → conversation), `cache` (verdict LRU), `breaker`,
 * `tabs` (per-tab state), `persist` (snapshot), `scheduler` (the engine).
 */
export { type BreakerOptions, type BreakerSnapshot, type BreakerState, CircuitBreaker } from './breaker';
export { type CacheOptions, isVerdict, MemoryVerdictStore, VerdictCache, type VerdictStore } from './cache';
export {
  chunkBudget,
  DEFAULT_CHUNK_TOKENS,
  DEFAULT_HEADER_TOKENS,
  packBlocks,
  runChunk,
  splitText,
} from './chunker';
export {
  ENGINE_TEMPLATES,
  type EngineTextKey,
  engineSentence,
  failingSentence,
  parseEngineReason,
} from './engine-text';
export { contentKey, normalizeText, sha256Hex } from './keys';
export { type EngineSnapshot, parseSnapshot } from './persist';
export {
  type BlockInput,
  type EngineOptions,
  type EngineState,
  type EngineStatus,
  type PromptInput,
  type ReconfigureOptions,
  type RestoreResult,
  ScanEngine,
  type SubmitResult,
} from './scheduler';
export { estimateTokens } from './tokens';
export { chunkTurns, itemTurns } from './turns';
export {
  asClassifierError,
  type Classify,
  type ClassifyResult,
  type Clock,
  EngineError,
  type EngineErrorKind,
  emptyTabState,
  type FlaggedItem,
  type ItemContent,
  type ItemInput,
  type ItemKind,
  isNotCheckedReason,
  MemoryStateStore,
  NOT_CHECKED_REASONS,
  type NotCheckedReason,
  notCheckedReasons,
  PRIORITIES,
  type Priority,
  type StateStore,
  systemClock,
  type TabState,
  type Usage,
  uncheckedChars,
  type WorkItem,
} from './types';
