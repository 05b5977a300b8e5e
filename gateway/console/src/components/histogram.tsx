/**
 * A histogram of decrypted bin counts, drawn with Recharts (SVG). The same numbers are in
 * the result table beside it; the chart is `aria-hidden` and has a caption instead.
 */
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

export interface HistogramBar {
  label: string;
  count: number;
}

export function Histogram(props: { title: string; bars: HistogramBar[] }) {
  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      <div aria-hidden="true" style={{ width: '100%', height: 260 }}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart accessibilityLayer={false} data={props.bars} margin={{ top: 8, right: 16, bottom: 24, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#c8ccd4" />
            <XAxis dataKey="label" tick={{ fill: '#1f2430', fontSize: 12 }} interval={0} angle={-20} textAnchor="end" height={48} />
            <YAxis tick={{ fill: '#1f2430', fontSize: 12 }} allowDecimals={false} />
            <Tooltip />
            <Bar dataKey="count" fill="#1d4ed8" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
