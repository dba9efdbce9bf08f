/**
 * Turns the person's settings (and the API key) into the guard client's endpoint configuration. Pure, so the
 * background, the options page's "Test connection" and tests share one mapping.
 */
import type { EndpointConfig } from '../guard/client';
import { getGuardModel } from '../guard/registry';
import { getPreset } from '../providers/presets';
import { problemText } from './problem-text';
import type { CustomCategory, Settings } from './schema';

/** The line a custom category adds to the prompt, in the templates' style: `Name.` or `Name. Description.` */
export function customCategoryText(category: CustomCategory): string {
  const sentence = (s: string) => {
    const t = s.replace(/\s+/g, ' ').trim();
    return t && !/[.!?]$/.test(t) ? `${t}.` : t;
  };
  return [sentence(category.name), sentence(category.description)].filter(Boolean).join(' ');
}

export function endpointConfigFromSettings(settings: Settings, apiKey: string): EndpointConfig {
  const preset = getPreset(settings.provider);
  const config: EndpointConfig = {
    baseUrl: settings.baseUrl || preset.baseUrl,
    model: settings.model,
    guardModel: settings.guardModel,
    mode: settings.requestMode,
    presetId: settings.provider,
    sendBos: settings.sendBos,
  };
  if (apiKey) config.apiKey = apiKey;
  const model = getGuardModel(settings.guardModel);
  if (settings.customCategories.length > 0 && customCategoriesApply(settings)) {
    // Custom categories are added to the generation's own table (the template replaces the whole table).
    const builtIn = model.categories.map((c) => [c.code, c.promptName] as const);
    const custom = settings.customCategories.map((c) => [c.code, customCategoryText(c)] as const);
    config.prompt = { categories: Object.fromEntries([...builtIn, ...custom]) };
  }
  return config;
}

/**
 * Custom categories reach the model only in raw mode and only for generations whose template accepts a
 * category table (the options page says so next to them); elsewhere the generation's own table is used.
 */
export function customCategoriesApply(settings: Settings): boolean {
  return settings.requestMode === 'raw' && getGuardModel(settings.guardModel).customCategories;
}

/**
 * Why the extension cannot scan yet (a problem sentence: pages show it with `problemMessage`), or null when the
 * endpoint settings are complete.
 */
export function missingEndpointSetting(settings: Settings, apiKey: string): string | null {
  const preset = getPreset(settings.provider);
  if (!(settings.baseUrl || preset.baseUrl)) return problemText('settings_setup_no_url');
  if (!settings.model) return problemText('settings_setup_no_model');
  if (preset.keyRequired && !apiKey) return problemText('settings_setup_no_key', preset.label);
  return null;
}
