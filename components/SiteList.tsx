import { useEffect, useState } from 'preact/hooks';
import { parseHostPattern } from '@/lib/settings/schema';
import { describedBy, type Managed, PolicyNote } from './Form';
import { problemMessage, t } from './i18n';

/** Reads one site per line: the canonical patterns, and the lines that are not sites with the reason. */
export function parseSiteLines(text: string): { patterns: string[]; problems: string[] } {
  const patterns: string[] = [];
  const problems: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const parsed = parseHostPattern(line);
    if (!parsed.ok) problems.push(parsed.error);
    else if (!patterns.includes(parsed.pattern)) patterns.push(parsed.pattern);
  }
  return { patterns, problems };
}

/** A list of host patterns edited as text, one per line; lines that are not sites are shown, not dropped. */
export function SiteListField({
  id,
  label,
  hint,
  value,
  managed,
  onChange,
}: {
  id: string;
  label: string;
  hint: string;
  value: string[];
  managed?: Managed;
  onChange: (patterns: string[]) => void;
}) {
  const [text, setText] = useState(value.join('\n'));
  const [problems, setProblems] = useState<string[]>([]);
  // Follow a value changed elsewhere (import, discard, a policy), unless it is what the text already says.
  useEffect(() => {
    if (parseSiteLines(text).patterns.join('\n') !== value.join('\n')) {
      setText(value.join('\n'));
      setProblems([]);
    }
  }, [value.join('\n')]);

  const describe = [describedBy(id, true, managed), problems.length ? `${id}-problems` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div class="gl-field">
      <label for={id}>{label}</label>
      <textarea
        id={id}
        rows={Math.min(8, Math.max(3, value.length + 1))}
        value={text}
        spellcheck={false}
        disabled={managed === 'locked'}
        aria-describedby={describe}
        aria-invalid={problems.length > 0}
        onInput={(e) => {
          const next = e.currentTarget.value;
          setText(next);
          const parsed = parseSiteLines(next);
          setProblems(parsed.problems);
          onChange(parsed.patterns);
        }}
      />
      <p id={`${id}-hint`} class="gl-hint">
        {hint}
      </p>
      {problems.length > 0 && (
        <ul id={`${id}-problems`} class="gl-problems gl-error">
          {problems.map((p) => (
            <li key={p}>{t('options_sites_problem', problemMessage(p))}</li>
          ))}
        </ul>
      )}
      <PolicyNote id={id} managed={managed} />
    </div>
  );
}
