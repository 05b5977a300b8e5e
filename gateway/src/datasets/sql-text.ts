/** SQL text helpers for DuckDB. Identifiers and literals from configuration are quoted here. */

/** A quoted SQL identifier ("…" with embedded quotes doubled). */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A quoted SQL string literal ('…' with embedded quotes doubled). */
export function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A numeric literal; refuses anything but a finite number (never string-built from input). */
export function numberLiteral(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError('not a finite number');
  return Number.isInteger(x) ? `${x}` : `${x}::DOUBLE`;
}
