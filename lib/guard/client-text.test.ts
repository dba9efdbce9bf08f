/**
 * What the guard client refuses before a request (config) and cannot read in an answer (bad-response) is worded
 * from `CLIENT_ERROR_TEMPLATES`: every such error carries its message and hint by key, and the keys' English is
 * exactly what lib says (and what messages.json says).
 */
import { describe, expect, it } from 'vitest';
import { expectInMessages, fromMessages } from '../../test/unit/messages-file';
import { createGuardClient, type EndpointConfig } from './client';
import { CLIENT_ERROR_TEMPLATES, errorEnglish, GuardError, toGuardError } from './errors';
import { getGuardModel } from './registry';
import type { ConversationTurn } from './types';

const IMAGE = 'data:image/png;base64,iVBORw0KGgo=';
const user = (text: string, images?: string[]): ConversationTurn =>
  images ? { role: 'user', text, images } : { role: 'user', text };

/** A fetch that answers every request with `body` (status 200) and `type` as its content type. */
function answering(body: string, type?: string): typeof fetch {
  return (async () => {
    const response = new Response(body, { status: 200 });
    if (type) response.headers.set('content-type', type);
    else response.headers.delete('content-type');
    return response;
  }) as typeof fetch;
}

function config(over: Partial<EndpointConfig> = {}): EndpointConfig {
  return {
    baseUrl: 'https://guard.example/v1',
    model: 'meta-llama/llama-guard-4-12b',
    guardModel: 'llama-guard-4-12b',
    mode: 'chat',
    presetId: 'custom',
    maxRetries: 0,
    fetch: answering('{}', 'application/json'),
    ...over,
  };
}

async function thrown(run: () => unknown): Promise<GuardError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(GuardError);
    return err as GuardError;
  }
  throw new Error('expected a GuardError');
}

const classify = (over: Partial<EndpointConfig>, turns: ConversationTurn[] = [user('x')]) =>
  thrown(() => createGuardClient(config(over)).classify(turns));

async function everyClientPath(): Promise<[string, GuardError][]> {
  const lg3v = getGuardModel('llama-guard-3-11b-vision');
  return [
    ['no endpoint', await thrown(() => createGuardClient(null as never))],
    ['base URL', await thrown(() => createGuardClient(config({ baseUrl: 'ftp://guard.example/v1' })))],
    ['no model', await thrown(() => createGuardClient(config({ model: ' ' })))],
    ['generation', await thrown(() => createGuardClient(config({ guardModel: 'llama-guard-9' as never })))],
    ['mode', await thrown(() => createGuardClient(config({ mode: 'stream' as never })))],
    ['preset', await thrown(() => createGuardClient(config({ presetId: 'acme' as never })))],
    ['no key', await thrown(() => createGuardClient(config({ presetId: 'openrouter' })))],
    ['no raw', await thrown(() => createGuardClient(config({ presetId: 'groq', apiKey: 'k', mode: 'raw' })))],
    ['positive', await thrown(() => createGuardClient(config({ timeoutMs: 0 })))],
    ['retries', await thrown(() => createGuardClient(config({ maxRetries: -1 })))],
    ['nothing', await classify({}, [])],
    [
      'no images (model)',
      await classify({ guardModel: 'llama-guard-3-8b', model: 'm' }, [user('x', [IMAGE])]),
    ],
    ['image limit (one)', await classify({ guardModel: lg3v.id, model: 'm' }, [user('x', [IMAGE, IMAGE])])],
    [
      'image limit',
      await classify({}, [
        user(
          'x',
          [1, 2, 3, 4].map(() => IMAGE),
        ),
      ]),
    ],
    ['images raw', await classify({ mode: 'raw' }, [user('x', [IMAGE])])],
    ['no images (provider)', await classify({ presetId: 'fireworks', apiKey: 'k' }, [user('x', [IMAGE])])],
    ['raw categories', await classify({ prompt: { excluded: ['S1'] } })],
    [
      'no excluded',
      await classify({
        mode: 'raw',
        guardModel: 'llama-guard-2-8b',
        model: 'm',
        prompt: { excluded: ['S1'] },
      }),
    ],
    [
      'no custom',
      await classify({
        mode: 'raw',
        guardModel: 'llama-guard-2-8b',
        model: 'm',
        prompt: { categories: { S1: 'X.' } },
      }),
    ],
    ['build', await classify({}, [{ role: 'assistant', text: 'x' }])],
    ['answer not an object', await classify({ fetch: answering('null', 'application/json') })],
    ['no choices', await classify({ fetch: answering('{"choices":[]}', 'application/json') })],
    ['no text', await classify({ fetch: answering('{"choices":[{"message":{}}]}', 'application/json') })],
    ['not JSON (typed)', await classify({ fetch: answering('<html>Sign in</html>', 'text/html') })],
    ['not JSON', await classify({ fetch: answering('<html>Sign in</html>') })],
  ];
}

describe('guard client errors by message key', () => {
  it('every config and bad-response path carries its message and hint by key, saying exactly the English', async () => {
    const keys = new Set<string>();
    for (const [name, e] of await everyClientPath()) {
      expect(e.kind, name).toMatch(/^(config|bad-response)$/);
      expect(e.messageText, name).toBeDefined();
      expect(e.hintText, name).toBeDefined();
      const { key, subs } = e.messageText!;
      expect(fromMessages(key, subs), name).toBe(e.message);
      expect(fromMessages(e.hintText!.key, e.hintText!.subs), name).toBe(e.hint);
      // Through the error mapping (the scrubbing keeps texts that still say the English) and messaging.
      const mapped = toGuardError(e, { baseUrl: 'https://guard.example/v1', model: 'm' });
      expect(mapped.messageText, name).toEqual(e.messageText);
      expect(JSON.parse(JSON.stringify(e.toJSON())).messageText, name).toEqual(e.messageText);
      keys.add(key);
      keys.add(e.hintText!.key);
    }
    expect(Object.keys(CLIENT_ERROR_TEMPLATES).filter((key) => !keys.has(key))).toEqual([]);
  });

  it('values are names and data, not words', async () => {
    const paths = Object.fromEntries(await everyClientPath());
    expect(paths['no key']!.messageText).toEqual({ key: 'error_config_no_key', subs: ['OpenRouter'] });
    expect(paths['image limit']!.messageText).toEqual({
      key: 'error_config_image_limit',
      subs: ['Llama Guard 4 12B', '3', '4'],
    });
    expect(paths['base URL']!.messageText).toEqual({ key: 'settings_base_url_scheme', subs: ['ftp:'] });
    expect(paths['not JSON (typed)']!.messageText).toEqual({
      key: 'error_detail_answer_not_json_type',
      subs: ['text/html', '"<html>Sign in</html>"'],
    });
  });

  it('every client sentence is in messages.json with the same English as lib', () => {
    expectInMessages(CLIENT_ERROR_TEMPLATES);
    for (const [key, template] of Object.entries(CLIENT_ERROR_TEMPLATES)) {
      expect(errorEnglish({ key }), key).toBe(template.replace(/\$\d/g, ''));
    }
  });
});
