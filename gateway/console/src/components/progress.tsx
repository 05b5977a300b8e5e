/**
 * Progress of a long operation (fan-out to nodes, log verification): a labelled
 * <progress> (indeterminate without `max`) and a live status line for screen readers.
 */
export function Progress(props: { label: string; value?: number; max?: number; detail?: string }) {
  const determinate = props.value !== undefined && props.max !== undefined && props.max > 0;
  return (
    <div className="progress" role="status" aria-live="polite">
      <label>
        <span>{props.label}</span>
        {determinate ? <progress value={props.value} max={props.max} /> : <progress />}
      </label>
      {props.detail ? <span className="muted">{props.detail}</span> : null}
    </div>
  );
}
