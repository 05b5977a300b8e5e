/**
 * A bar chart drawn with Recharts (SVG): histogram bins of a decrypted result, credits per
 * day. The same numbers are always in a table beside it, so the chart is `aria-hidden`
 * (and Recharts' keyboard layer is off: nothing focusable inside a hidden element) and has
 * a caption instead.
 */
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

export interface ChartBar {
  label: string;
  value: number;
}

const TICK = { fill: '#1f2430', fontSize: 12 };

export function BarChartFigure(props: { title: string; bars: ChartBar[]; seriesName?: string; colour?: string; height?: number; integers?: boolean; slantedLabels?: boolean }) {
  const slanted = props.slantedLabels ?? false;
  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      <div aria-hidden="true" style={{ width: '100%', height: props.height ?? 260 }}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart accessibilityLayer={false} data={props.bars} margin={{ top: 8, right: 16, bottom: slanted ? 24 : 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#c8ccd4" />
            {slanted ? <XAxis dataKey="label" tick={TICK} interval={0} angle={-20} textAnchor="end" height={48} /> : <XAxis dataKey="label" tick={TICK} />}
            <YAxis tick={TICK} allowDecimals={!props.integers} />
            <Tooltip />
            <Bar maxBarSize={56} dataKey="value" name={props.seriesName ?? props.title} fill={props.colour ?? '#1d4ed8'} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
