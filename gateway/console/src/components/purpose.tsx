/** Data Use Ontology purposes (GA4GH DUO): the code is always shown, the label helps reading it. */
import { useTranslation } from 'react-i18next';

export const PURPOSES = [
  { code: 'DUO:0000006', key: 'd0000006' },
  { code: 'DUO:0000007', key: 'd0000007' },
  { code: 'DUO:0000042', key: 'd0000042' },
  { code: 'DUO:0000011', key: 'd0000011' },
] as const;
export const DEFAULT_PURPOSE = 'DUO:0000006';

/** The label of a known purpose, or undefined. */
export function usePurposeLabel(): (code: string) => string | undefined {
  const { t } = useTranslation();
  return (code) => {
    const known = PURPOSES.find((p) => p.code === code);
    return known ? t(`purposes.${known.key}`) : undefined;
  };
}

/** A purpose code with its description when known. */
export function PurposeText(props: { code: string }) {
  const label = usePurposeLabel()(props.code);
  return (
    <>
      <code className="nowrap">{props.code}</code>
      {label ? <div className="muted small">{label}</div> : null}
    </>
  );
}
