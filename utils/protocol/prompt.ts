/** Messages between the chatbot content script and the background (prompt guard). */

// biome-ignore lint/complexity/noBannedTypes: filled in by the prompt guard
export type PromptProtocol = {};
