/**
 * Credits earned per day, drawn with Recharts. The same numbers are in the per-day table
 * below it, so the chart is `aria-hidden` and has a caption instead.
 */
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

export function CreditsChart(props: { title: string; seriesName: string; days: { day: string; credits: number }[] }) {
  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      <div aria-hidden="true" style={{ width: '100%', height: 220 }}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart accessibilityLayer={false} data={props.days} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#c8ccd4" />
            <XAxis dataKey="day" tick={{ fill: '#1f2430', fontSize: 12 }} />
            <YAxis tick={{ fill: '#1f2430', fontSize: 12 }} />
            <Tooltip />
            <Bar maxBarSize={56} dataKey="credits" name={props.seriesName} fill="#166534" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
