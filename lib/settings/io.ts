/**
 * Settings import and export: a small, self-describing JSON file.
 *
 * ```json
 * { "format": "guardlens-settings", "version": 1, "exportedAt": "…", "settings": { … }, "apiKey": "…" }
 * ```
 * The API key is written only when the caller passes one (the person ticked "include my API key").
 * Pure TypeScript.
 */
import { getPreset } from '../providers/presets';
import { problemText } from './problem-text';
import { checkApiKey, checkSettingsPatch, describeValue, SETTINGS_KEYS, type Settings } from './schema';

export const SETTINGS_EXPORT_FORMAT = 'guardlens-settings';
/** The file version this build writes; it reads this version and older ones. */
export const SETTINGS_EXPORT_VERSION = 1;
/** Larger inputs are refused before parsing. */
export const MAX_IMPORT_LENGTH = 1_000_000;

const TOP_LEVEL_KEYS = new Set(['format', 'version', 'exportedAt', 'settings', 'apiKey']);

export interface ExportOptions {
  /** Include this API key in the file. Left out when missing or empty. */
  apiKey?: string;
  /** The time written as `exportedAt` (defaults to now). */
  exportedAt?: Date;
}

/** Writes settings as pretty-printed JSON (two-space indent, trailing newline). Only known settings keys. */
export function exportSettings(settings: Settings, options: ExportOptions = {}): string {
  const body: Record<string, unknown> = {};
  for (const key of SETTINGS_KEYS) {
    if (settings[key] !== undefined) body[key] = settings[key];
  }
  const file: Record<string, unknown> = {
    format: SETTINGS_EXPORT_FORMAT,
    version: SETTINGS_EXPORT_VERSION,
    exportedAt: (options.exportedAt ?? new Date()).toISOString(),
    settings: body,
  };
  if (typeof options.apiKey === 'string' && options.apiKey !== '') file.apiKey = options.apiKey;
  return `${JSON.stringify(file, null, 2)}\n`;
}

export interface ImportResult {
  /** The valid settings found in the file; fields that were bad are left out (see `problems`). */
  settings: Partial<Settings>;
  /** The API key, when the file has a usable one. */
  apiKey?: string;
  problems: string[];
}

/**
 * Reads a settings file. Never throws: a file that is not JSON or not a Guardlens settings export gives no
 * settings and a problem saying why; a good file with some bad fields gives the good ones and a problem per
 * bad one.
 */
export function importSettings(json: string): ImportResult {
  const problems: string[] = [];
  const nothing = (problem: string): ImportResult => ({ settings: {}, problems: [problem] });
  if (typeof json !== 'string') return nothing(problemText('settings_import_not_text'));
  if (json.length > MAX_IMPORT_LENGTH) {
    return nothing(problemText('settings_import_too_large', MAX_IMPORT_LENGTH / 1_000_000));
  }
  const text = json.replace(/^\uFEFF/, '').trim();
  if (text === '') return nothing(problemText('settings_import_empty'));
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return nothing(problemText('settings_import_not_json', detail));
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return nothing(problemText('settings_import_not_export'));
  }
  const file = data as Record<string, unknown>;
  if (file.format !== SETTINGS_EXPORT_FORMAT) {
    return nothing(problemText('settings_import_format', SETTINGS_EXPORT_FORMAT, describeValue(file.format)));
  }
  const version = file.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    return nothing(problemText('settings_import_version', describeValue(version)));
  }
  if (version > SETTINGS_EXPORT_VERSION) {
    problems.push(problemText('settings_import_newer', version, SETTINGS_EXPORT_VERSION));
  }
  for (const key of Object.keys(file)) {
    if (!TOP_LEVEL_KEYS.has(key)) problems.push(problemText('settings_import_entry', describeValue(key)));
  }

  let settings: Partial<Settings> = {};
  if (file.settings === undefined) {
    problems.push(problemText('settings_import_no_settings'));
  } else if (typeof file.settings !== 'object' || file.settings === null || Array.isArray(file.settings)) {
    problems.push(problemText('settings_import_settings_type', describeValue(file.settings)));
  } else {
    const checked = checkSettingsPatch(file.settings, problemText('settings_outcome_not_imported'));
    settings = checked.patch;
    // A newer file may carry settings this build does not know: that is expected, not a problem per key.
    for (const problem of checked.problems) {
      if (version > SETTINGS_EXPORT_VERSION && problem.startsWith('Unknown setting')) continue;
      problems.push(problem);
    }
  }

  if (
    settings.requestMode === 'raw' &&
    settings.provider !== undefined &&
    !getPreset(settings.provider).raw
  ) {
    problems.push(problemText('settings_import_raw_to_chat', getPreset(settings.provider).label));
    settings.requestMode = 'chat';
  }

  const result: ImportResult = { settings, problems };
  if (file.apiKey !== undefined) {
    const key = checkApiKey(file.apiKey);
    if (!key.ok) problems.push(problemText('settings_import_api_key', key.error));
    else if (key.key !== '') result.apiKey = key.key;
  }
  return result;
}
