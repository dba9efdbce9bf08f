import { problemMessage } from './i18n';

/** Settings problems as list items, each in the messages file's words (English when it has none). */
export function ProblemItems({ problems }: { problems: readonly string[] }) {
  return (
    <>
      {problems.map((p) => (
        <li key={p}>{problemMessage(p)}</li>
      ))}
    </>
  );
}
