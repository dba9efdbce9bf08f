/**
 * The English of every settings problem (bad settings, import files, managed policies), with its key in the
 * extension's messages file. Pure: `lib/settings` builds its problem sentences with `problemText`, so the
 * English lives here once; the options page recovers the key and values of a sentence with `parseProblem` and
 * shows the messages file's version (`components/i18n.ts` `problemMessage`). Values are `$1`, `$2` … in order,
 * like the `placeholders` of messages.json; a value may itself be a problem sentence (a reason, an ending).
 */
import { fill, templateReader } from '../text';

export const PROBLEM_TEMPLATES = Object.freeze({
  // Why a field was rejected: the middle of `settings_problem_field` / `settings_policy_field`.
  settings_reason_one_of: 'must be one of $1 (got $2)',
  settings_reason_boolean: 'must be true or false (got $1)',
  settings_reason_whole_number: 'must be a whole number from $1 to $2 (got $3)',
  settings_reason_url: 'must be a URL (got $1)',
  settings_reason_not_usable: 'is not usable: $1',
  settings_reason_model_id: "must be the provider's model id (got $1)",
  settings_reason_too_long: 'is longer than $1 characters',
  settings_reason_no_spaces: 'must not contain spaces or control characters',
  settings_reason_category_list: 'must be a list of categories (got $1)',
  settings_reason_category_map: 'must map category codes to an action (got $1)',
  settings_reason_site_list: 'must be a list of sites (got $1)',
  settings_reason_budget: 'must be an amount in USD from 0 (no limit) to $1 (got $2)',
  settings_reason_chatbot_map: 'must map chatbot site ids to true or false (got $1)',
  // What happened to a rejected field: the end of `settings_problem_field`.
  settings_outcome_ignored: 'it was ignored',
  settings_outcome_not_imported: 'it was not imported',
  settings_outcome_not_saved: 'it was not saved',
  settings_outcome_provider_default: "using the provider's default",
  settings_outcome_default: 'using the default ($1)',
  // Settings.
  settings_problem_field: 'Setting "$1" $2; $3.',
  settings_problem_not_object: 'Settings must be an object (got $1).',
  settings_problem_not_object_defaults: 'Settings must be an object (got $1); using the defaults.',
  settings_problem_unknown_key: 'Unknown setting $1 was ignored.',
  settings_problem_api_key_in_settings:
    'The API key is not part of the settings object; it was ignored there.',
  settings_problem_raw_to_chat:
    '$1 does not take raw prompts (it applies its own template); "requestMode" is set to "chat".',
  settings_problem_category_not_object:
    'Custom category $1 is not an object with code, name and description; it was dropped.',
  settings_problem_category_code:
    'Custom category $1 has the code $2; a code is a letter then up to 9 letters or digits (e.g. "S15"). It was dropped.',
  settings_problem_category_repeated: 'Custom category $1 repeats the code "$2"; it was dropped.',
  settings_problem_category_name:
    'Custom category $1 ("$2") needs a name of 1 to $3 characters; it was dropped.',
  settings_problem_category_description_type:
    'Custom category $1 ("$2") has a description that is not text; it was dropped.',
  settings_problem_category_description_long:
    'Custom category $1 ("$2") has a description longer than $3 characters; it was dropped.',
  settings_problem_category_over_limit:
    'Custom category $1 ("$2") is over the limit of $3 categories; it was dropped.',
  settings_problem_action_code: 'The category code $1 in "categoryActions" is not a code; it was dropped.',
  settings_problem_action_value: 'The action for "$1" must be one of $2 (got $3); it was dropped.',
  settings_problem_site_dropped: '$1 It was dropped from "$2".',
  // Why a site pattern was refused (lib/settings/hosts.ts): the first value of `settings_problem_site_dropped`.
  settings_site_not_text: 'A site pattern must be a string.',
  settings_site_too_long: 'The site pattern $1 is too long.',
  settings_site_bad_url: 'The site pattern $1 is not a valid URL or host name.',
  settings_site_scheme: 'The site pattern $1 must be a host name or an http(s) URL.',
  settings_site_everything: 'The site pattern $1 would match every site; name a domain.',
  settings_site_star: 'The site pattern $1 may use "*" only as a leading "*." (for example "*.example.com").',
  settings_site_host_only: 'The site pattern $1 must be a host name only (no path, user or spaces).',
  settings_site_port: 'The site pattern $1 must not include a port.',
  settings_site_invalid: 'The site pattern $1 is not a valid host name.',
  settings_site_characters: 'The site pattern $1 contains characters a host name cannot have.',
  settings_site_host_long: 'The site pattern $1 is longer than 253 characters.',
  settings_site_empty_label: 'The site pattern $1 has an empty label (two dots in a row).',
  settings_site_label_long: 'The site pattern $1 has a label longer than 63 characters.',
  settings_site_wildcard_ip: 'The site pattern $1 puts a wildcard in front of an IP address.',
  settings_problem_site_not_host: '$1 is not a host name; it was dropped from "$2".',
  settings_problem_site_limit: '"$1" holds at most $2 sites; the rest were dropped.',
  settings_problem_chatbot_id: '$1 is not a chatbot site id; it was dropped from "chatbotSites".',
  settings_problem_chatbot_value: 'The chatbot site "$1" must be true or false (got $2); it was dropped.',
  settings_problem_api_key_type: 'The API key must be text (got $1).',
  settings_problem_api_key_long: 'The API key is longer than $1 characters.',
  settings_problem_api_key_chars: 'The API key may contain only printable ASCII characters and no spaces.',
  settings_problem_stored_key: 'The stored API key is not usable and was ignored: $1',
  // Why a base URL is not usable (lib/providers/presets.ts): shown on its own, or inside `settings_reason_not_usable`.
  settings_base_url_empty: 'Enter the base URL of the endpoint, e.g. https://example.com/v1.',
  settings_base_url_not_url: '"$1" is not a URL; it should look like https://example.com/v1.',
  settings_base_url_scheme: 'The base URL must start with https:// (got $1).',
  settings_base_url_credentials:
    'The base URL must not contain a user name or password; put the API key in its own field.',
  settings_base_url_https:
    'The base URL must use https://; plain http:// is only allowed for this computer (localhost, 127.0.0.1, [::1]).',
  settings_base_url_query: 'The base URL must not contain a query (?…) or a fragment (#…).',
  // What the endpoint settings still lack before anything can be checked (lib/settings/endpoint.ts).
  settings_setup_no_url: 'No endpoint URL is set.',
  settings_setup_no_model: 'No model is chosen for this provider.',
  settings_setup_no_key: '$1 needs an API key.',
  // Import files.
  settings_import_not_text: 'The settings file could not be read (it is not text).',
  settings_import_too_large: 'The settings file is too large (over $1 MB); nothing was imported.',
  settings_import_empty: 'The settings file is empty.',
  settings_import_not_json: 'The settings file is not valid JSON ($1); nothing was imported.',
  settings_import_not_export: 'The settings file is not a Guardlens settings export; nothing was imported.',
  settings_import_format:
    'The file is not a Guardlens settings export (it needs "format": "$1", got $2); nothing was imported.',
  settings_import_version: 'The settings file has no valid "version" (got $1); nothing was imported.',
  settings_import_newer:
    'The settings file was written by a newer Guardlens (file version $1, this one reads $2); settings this version does not know were skipped.',
  settings_import_entry: "The settings file's entry $1 was ignored.",
  settings_import_no_settings: 'The settings file holds no "settings".',
  settings_import_settings_type: 'The file\'s "settings" must be an object (got $1); none were imported.',
  settings_import_raw_to_chat: '$1 does not take raw prompts; "requestMode" was imported as "chat".',
  settings_import_api_key: 'The API key in the file was not imported: $1',
  // Managed policies.
  settings_policy_not_object: 'The managed policy must be an object (got $1); it was ignored.',
  settings_policy_unknown_key: 'The managed policy key $1 is not one Guardlens knows; it was ignored.',
  settings_policy_lock: 'Policy "lockSettings" must be true or false (got $1); it was ignored.',
  settings_policy_api_key: 'Policy "apiKey" was ignored: $1',
  settings_policy_api_key_empty: 'Policy "apiKey" is empty; it was ignored.',
  settings_policy_model_empty: 'Policy "model" is empty; it was ignored.',
  settings_policy_field: 'Policy "$1" $2; it was ignored.',
  settings_policy_note: 'Policy: $1',
  settings_policy_custom_no_url:
    'The managed policy sets the provider "custom" without a "baseUrl"; the person has to enter the base URL.',
  settings_policy_raw: 'Policy "requestMode" is "raw", but $1 does not take raw prompts; it was ignored.',
} as const);

export type ProblemKey = keyof typeof PROBLEM_TEMPLATES;

/** A problem sentence taken apart: its message key and the values of its placeholders, in order. */
export interface ParsedProblem {
  key: ProblemKey;
  subs: string[];
}

/** The English sentence for `key` with `subs` in its placeholders (`$1` is the first). */
export function problemText(key: ProblemKey, ...subs: (string | number)[]): string {
  return fill(PROBLEM_TEMPLATES[key], subs);
}

const readProblem = /* @__PURE__ */ templateReader<ProblemKey>(PROBLEM_TEMPLATES);

/**
 * The key and values of a problem sentence made with `problemText`, or undefined for any other text (a sentence
 * from elsewhere, which the caller shows as it is). Formatting the result again gives back `text`.
 */
export function parseProblem(text: string): ParsedProblem | undefined {
  return readProblem(text);
}
