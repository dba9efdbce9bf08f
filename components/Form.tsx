/**
 * Small form pieces for the options page: every control has a visible label, hints are tied to their control
 * with `aria-describedby`, and a field an organisation's policy sets says so next to it.
 */
import type { ComponentChildren } from 'preact';
import { t } from './i18n';

/** How a managed policy touches a field: it locks it, sets it (the person may change it), or not at all. */
export type Managed = 'locked' | 'set' | undefined;

export function describedBy(id: string, hint: boolean, managed: Managed): string | undefined {
  const ids = [hint ? `${id}-hint` : '', managed ? `${id}-policy` : ''].filter(Boolean);
  return ids.length ? ids.join(' ') : undefined;
}

export function PolicyNote({ id, managed }: { id: string; managed: Managed }) {
  if (!managed) return null;
  return (
    <p id={`${id}-policy`} class="gl-locked">
      {managed === 'locked' ? t('options_policy_locked') : t('options_policy_set')}
    </p>
  );
}

/** A labelled control: `children` gets the id, `aria-describedby` and `disabled` from the caller. */
export function Field({
  id,
  label,
  hint,
  managed,
  children,
}: {
  id: string;
  label: string;
  hint?: ComponentChildren;
  managed?: Managed;
  children: ComponentChildren;
}) {
  return (
    <div class="gl-field">
      <label for={id}>{label}</label>
      {children}
      {hint && (
        <p id={`${id}-hint`} class="gl-hint">
          {hint}
        </p>
      )}
      <PolicyNote id={id} managed={managed} />
    </div>
  );
}

/** A checkbox with its label beside it. */
export function Toggle({
  id,
  label,
  hint,
  checked,
  managed,
  disabled,
  onChange,
}: {
  id: string;
  label: string;
  hint?: ComponentChildren;
  checked: boolean;
  managed?: Managed;
  disabled?: boolean;
  onChange: (checked: boolean) => void;
}) {
  return (
    <div class="gl-field gl-toggle">
      <div class="gl-toggle-row">
        <input
          id={id}
          type="checkbox"
          checked={checked}
          disabled={disabled || managed === 'locked'}
          aria-describedby={describedBy(id, !!hint, managed)}
          onChange={(e) => onChange(e.currentTarget.checked)}
        />
        <label for={id}>{label}</label>
      </div>
      {hint && (
        <p id={`${id}-hint`} class="gl-hint">
          {hint}
        </p>
      )}
      <PolicyNote id={id} managed={managed} />
    </div>
  );
}

/** One choice among a few, as a select. */
export function Choice<V extends string>({
  id,
  label,
  hint,
  value,
  options,
  managed,
  disabled,
  onChange,
}: {
  id: string;
  label: string;
  hint?: ComponentChildren;
  value: V;
  options: { value: V; label: string; disabled?: boolean }[];
  managed?: Managed;
  disabled?: boolean;
  onChange: (value: V) => void;
}) {
  return (
    <Field id={id} label={label} hint={hint} managed={managed}>
      <select
        id={id}
        value={value}
        disabled={disabled || managed === 'locked'}
        aria-describedby={describedBy(id, !!hint, managed)}
        onChange={(e) => {
          const next = options.find((o) => o.value === e.currentTarget.value);
          if (next) onChange(next.value);
        }}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value} disabled={o.disabled}>
            {o.label}
          </option>
        ))}
      </select>
    </Field>
  );
}
